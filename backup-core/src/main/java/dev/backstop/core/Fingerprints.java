package dev.backstop.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a restore must reproduce exactly: a hash of the schema and, per table (qualified name),
 * the row count and a content hash. Taken inside the same snapshot as the dump.
 */
public record Fingerprints(String schemaHash, Map<String, TableFingerprint> tables) {

    public Fingerprints {
        Objects.requireNonNull(schemaHash, "schemaHash");
        tables = Map.copyOf(tables);
    }

    /**
     * The differences between these (expected) and {@code actual}, one sentence each naming the
     * table, what was expected and what was found; empty when they are equal.
     */
    public List<String> differencesFrom(Fingerprints actual) {
        List<String> out = new ArrayList<>();
        if (!schemaHash.equals(actual.schemaHash)) {
            out.add("schema: expected hash " + schemaHash + ", found " + actual.schemaHash);
        }
        TreeSet<String> names = new TreeSet<>(tables.keySet());
        names.addAll(actual.tables.keySet());
        for (String name : names) {
            TableFingerprint e = tables.get(name);
            TableFingerprint a = actual.tables.get(name);
            if (a == null) {
                out.add("table " + name + ": expected " + e.rows() + " rows, table is missing");
            } else if (e == null) {
                out.add("table " + name + ": not in the backup, found " + a.rows() + " rows");
            } else if (e.rows() != a.rows()) {
                out.add("table " + name + ": expected " + e.rows() + " rows, found " + a.rows());
            } else if (!e.contentHash().equals(a.contentHash())) {
                out.add("table " + name + ": expected content hash " + e.contentHash() + ", found " + a.contentHash());
            }
        }
        return out;
    }

    /** Total rows over all tables. */
    public long totalRows() {
        return tables.values().stream().mapToLong(TableFingerprint::rows).sum();
    }

    /** Tables sorted by name, for stable output. */
    public Map<String, TableFingerprint> sortedTables() {
        return new TreeMap<>(tables);
    }
}
