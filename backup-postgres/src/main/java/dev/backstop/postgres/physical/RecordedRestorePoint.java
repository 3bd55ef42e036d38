package dev.backstop.postgres.physical;

import dev.backstop.core.Fingerprints;
import dev.backstop.postgres.wal.WalFile;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A restore point that {@link RestorePoints#create} made on a cluster, with the fingerprints of
 * its databases as they were at exactly that point: what a recovery to {@link
 * RecoveryTarget#restorePoint(String) restorePoint(name)} must reproduce.
 *
 * @param name      the restore point's name in the WAL
 * @param systemId  the cluster's system identifier: the WAL archive it lives in
 * @param lsn       where {@code pg_create_restore_point} wrote it
 * @param createdAt when it was written, by the recorder's clock
 * @param databases per database, its fingerprints at the point (unlogged tables left out: recovery
 *                  empties them); sequence positions are recorded but compared as described in
 *                  {@link PhysicalRestoreDrill}
 */
public record RecordedRestorePoint(String name, long systemId, long lsn, Instant createdAt, Map<String, Fingerprints> databases) {
    public RecordedRestorePoint {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(createdAt, "createdAt");
        databases = Map.copyOf(databases);
    }

    /** Databases in name order, for stable output. */
    public Map<String, Fingerprints> sortedDatabases() {
        return new TreeMap<>(databases);
    }

    @Override
    public String toString() {
        return "restore point '" + name + "' of system " + Long.toUnsignedString(systemId) + " at " + WalFile.formatLsn(lsn)
                + " (" + createdAt + ", " + databases.size() + " databases)";
    }
}
