package dev.backstop.postgres.physical;

import dev.backstop.core.internal.layout.PointRecord;
import dev.backstop.core.internal.layout.PointRecords;
import dev.backstop.postgres.wal.WalFile;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link RecordedRestorePoint} as core's point record ({@link PointRecords}, format 1): its
 * PostgreSQL fields are {@code systemIdentifier} (unsigned decimal) and {@code lsn}.
 */
final class RestorePointFormat {
    static final String WHAT = "restore point";
    private static final String SYSTEM = "systemIdentifier";
    private static final String LSN = "lsn";

    private RestorePointFormat() {
    }

    static PointRecord toRecord(RecordedRestorePoint p) {
        Map<String, String> fields = new LinkedHashMap<>(owner(p.systemId()));
        fields.put(LSN, WalFile.formatLsn(p.lsn()));
        return new PointRecord(p.name(), fields, p.createdAt(), p.databases());
    }

    static RecordedRestorePoint fromRecord(PointRecord r, long systemId) {
        return new RecordedRestorePoint(r.name(), systemId, WalFile.parseLsn(r.field(LSN)), r.createdAt(), r.databases());
    }

    /** The fields a record of cluster {@code systemId} must carry. */
    static Map<String, String> owner(long systemId) {
        return Map.of(SYSTEM, Long.toUnsignedString(systemId));
    }
}
