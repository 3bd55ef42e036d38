package dev.backstop.micrometer;

import java.time.Duration;
import java.util.Objects;

/**
 * One reading of a MariaDB/MySQL binlog receiver for the {@code backstop.binlog.*} gauges, taken
 * from its {@code BinlogReceiver.rpo()} and {@code isRunning()} (this module does not depend on
 * backup-mysql, so the caller copies the figures over).
 *
 * @param archivedFile     the newest binlog file in the repository, whole or as deltas, or null if none
 * @param archivedPosition how far {@code archivedFile} is archived, in bytes
 * @param lagBytes         bytes received but not yet in the repository
 * @param rpo              how long received work may have waited to be archived ({@code BinlogRpo.lag()})
 * @param running          whether the receiver runs (false once it stopped on a failure, a gap or close)
 */
public record BinlogStatus(String archivedFile, long archivedPosition, long lagBytes, Duration rpo, boolean running) {
    public BinlogStatus {
        Objects.requireNonNull(rpo, "rpo");
        if (archivedPosition < 0 || lagBytes < 0) {
            throw new IllegalArgumentException("binlog status: got archivedPosition " + archivedPosition + " and lagBytes "
                    + lagBytes + ", both must be >= 0");
        }
    }

    /** The sequence number of {@code archivedFile} ({@code 42} for {@code binlog.000042}); -1 if none or not numbered. */
    public long archivedFileNumber() {
        if (archivedFile == null) {
            return -1;
        }
        int dot = archivedFile.lastIndexOf('.');
        String digits = archivedFile.substring(dot + 1);
        if (dot < 0 || digits.isEmpty() || digits.length() > 18 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        return Long.parseLong(digits);
    }
}
