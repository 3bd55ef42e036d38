package dev.backstop.core;

import static dev.backstop.core.Repository.BACKUPS;

import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.lock.LeaseRecord;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/** The search behind {@link Repository#orphans}: what no manifest names, what a killed writer left, what Backstop never writes. */
final class OrphanSearch {
    private OrphanSearch() {
    }

    /** {@link Repository#orphans} of the repository over {@code sink}, whose catalog is {@code catalog}. */
    static Orphans find(Sink sink, Catalog catalog, Instant now, Duration grace) {
        Objects.requireNonNull(now, "now");
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace: got " + grace + ", must not be negative");
        }
        Instant cutoff = now.minus(grace);
        try {
            List<ObjectInfo> backups = sink.list(BACKUPS);
            Set<String> live = new HashSet<>();
            for (ObjectInfo o : backups) {
                Optional<BackupId> id = RepositoryLayout.backupOf(o.key());
                if (id.isPresent() && o.key().equals(RepositoryLayout.manifestKey(id.get()))) {
                    live.add(id.get().value());
                }
            }
            // a manifest that cannot be admitted (moved, copied, edited) still names backups whose
            // data may be the only copy left: nothing it names is garbage
            live.addAll(((SinkCatalog) catalog).idsNamedByDamaged());
            List<ObjectInfo> objects = new ArrayList<>();
            List<ObjectInfo> foreign = new ArrayList<>();
            for (ObjectInfo o : backups) {
                if (!RepositoryLayout.isBackupObject(o.key())) {
                    foreign.add(o);
                } else if (!live.contains(RepositoryLayout.backupOf(o.key()).orElseThrow().value())
                        && o.lastModified().isBefore(cutoff)) {
                    objects.add(o);
                }
            }
            for (ObjectInfo o : sink.list(RepositoryLayout.KEYS)) {
                if (o.key().equals(RepositoryLayout.METADATA_KEY) || RepositoryLayout.isLogKeyRecord(o.key())) {
                    continue; // the metadata key and log-archive keys belong to the repository, not to one backup
                }
                String id = RepositoryLayout.wrappedKeyName(o.key()).orElse("");
                if (!BackupId.isValid(id)) {
                    foreign.add(o);
                } else if (!live.contains(id) && o.lastModified().isBefore(cutoff)) {
                    objects.add(o);
                }
            }
            List<IncompleteWrite> incomplete = new ArrayList<>();
            if (sink instanceof IncompleteWrites iw) {
                for (IncompleteWrite w : iw.incompleteWrites("")) {
                    if (w.lastActivity().isBefore(cutoff)) {
                        incomplete.add(w);
                    }
                }
            }
            List<String> held = objects.isEmpty() && incomplete.isEmpty() ? List.of() : LeaseRecord.liveLeases(sink, now);
            if (!held.isEmpty()) {
                return new Orphans(List.of(), List.of(), foreign, held);
            }
            return new Orphans(objects, incomplete, foreign, List.of());
        } catch (IOException e) {
            throw StorageException.of(null, "could not list repository " + sink + " for orphans: " + e, e, null);
        }
    }
}
