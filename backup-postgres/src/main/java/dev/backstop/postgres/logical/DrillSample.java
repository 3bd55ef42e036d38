package dev.backstop.postgres.logical;

import dev.backstop.core.BackupId;
import dev.backstop.core.Digest;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.ValidationResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tables one sampled drill restores with their data: group {@code round} of {@code cycle}
 * fixed groups (a table's group is a hash of its name, so it keeps its group as other tables come
 * and go), plus what their foreign keys reference (with the partitions of a referenced
 * partitioned table), without which the keys could not be restored.
 */
record DrillSample(Set<String> tables, int round, int cycle) {
    static final String COVERAGE = "coverage";
    static final String ROUND = "sample_round";
    static final String CYCLE = "sample_cycle";

    /** How many groups a fraction gives: every table is proven within this many runs. */
    static int cycle(double fraction) {
        return (int) Math.ceil(1 / fraction - 1e-9);
    }

    static DrillSample draw(Fingerprints f, double fraction, int round) {
        int cycle = cycle(fraction);
        Map<String, List<String>> references = new HashMap<>();
        Map<String, List<String>> partitions = new HashMap<>();
        f.objects().forEach((key, proof) -> {
            if (key.startsWith("constraint ")) {
                String target = SchemaProof.literalField(proof, "references");
                if (target != null) {
                    String name = key.substring("constraint ".length());
                    references.computeIfAbsent(name.substring(0, name.lastIndexOf('.')), k -> new ArrayList<>()).add(target);
                }
            } else if (key.startsWith("table ")) {
                String parent = SchemaProof.literalField(proof, "partition_of");
                if (parent != null) {
                    partitions.computeIfAbsent(parent, k -> new ArrayList<>()).add(key.substring("table ".length()));
                }
            }
        });
        Set<String> chosen = new TreeSet<>();
        Deque<String> todo = new ArrayDeque<>();
        for (String t : f.tables().keySet()) {
            if (group(t, cycle) == round) {
                todo.add(t);
            }
        }
        while (!todo.isEmpty()) {
            String t = todo.poll();
            if (!chosen.add(t)) {
                continue;
            }
            todo.addAll(references.getOrDefault(t, List.of()));
            todo.addAll(partitions.getOrDefault(t, List.of()));
        }
        chosen.retainAll(f.tables().keySet());
        return new DrillSample(Set.copyOf(chosen), round, cycle);
    }

    static int group(String table, int cycle) {
        long h = Long.parseUnsignedLong(Digest.sha256(table.getBytes(StandardCharsets.UTF_8)).hex().substring(0, 15), 16);
        return (int) Math.floorMod(h, (long) cycle);
    }

    /**
     * The round after the newest sampled record of {@code validator} with the same cycle in the
     * repository, newest backup first; 0 when there is none.
     */
    static int nextRound(Repository repo, String validator, int cycle) throws IOException {
        List<Manifest> all = repo.catalog().list();
        ValidationResult newest = null;
        for (int i = all.size() - 1; i >= 0; i--) {
            BackupId id = all.get(i).id();
            for (ValidationResult r : repo.validations(id)) {
                if (validator.equals(r.validator()) && "sampled".equals(r.measurements().get(COVERAGE))
                        && Integer.toString(cycle).equals(r.measurements().get(CYCLE))
                        && (newest == null || r.finishedAt().isAfter(newest.finishedAt()))) {
                    newest = r;
                }
            }
        }
        return newest == null ? 0 : (Integer.parseInt(newest.measurements().get(ROUND)) + 1) % cycle;
    }

    /** What the validation record says about this sample. */
    Map<String, String> measurements() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put(COVERAGE, "sampled");
        out.put(ROUND, Integer.toString(round));
        out.put(CYCLE, Integer.toString(cycle));
        out.put("sample_tables", Integer.toString(tables.size()));
        return out;
    }

    /** {@code f} with only the sampled tables' fingerprints; the schema proofs stay whole. */
    Fingerprints restrict(Fingerprints f) {
        Map<String, TableFingerprint> kept = new LinkedHashMap<>(f.tables());
        kept.keySet().retainAll(tables);
        return new Fingerprints(f.schemaHash(), kept, f.objects());
    }
}
