package dev.backstop.mysql.binlog;

import java.time.Instant;
import java.util.Objects;

/**
 * Binlog files the archive needs that the server no longer has: the receiver found that the file
 * after the archive's newest one (or the configured start file) was purged before it was
 * received. Recovery past {@code archivedUpTo} needs a backup taken after the gap.
 *
 * @param needed          the file the archive needed next
 * @param serverOldest    the server's oldest binlog of the same base name, or null if it has none
 * @param continuousFrom  the oldest archived file from which the archive is continuous up to {@code
 *                        archivedUpTo}, or null if nothing of that base name is archived
 * @param archivedUpTo    the newest file archived whole before the gap, or null if none
 * @param detectedAt      when the receiver found it
 */
public record BinlogGap(String needed, String serverOldest, String continuousFrom, String archivedUpTo, Instant detectedAt) {
    public BinlogGap {
        Objects.requireNonNull(needed, "needed");
        Objects.requireNonNull(detectedAt, "detectedAt");
    }

    /** A sentence for an operator: what is missing, what the archive holds, and what to do. */
    @Override
    public String toString() {
        return needed + " is no longer on the server (purged before it was archived; the server's oldest binlog of that "
                + "base name is " + (serverOldest == null ? "none" : serverOldest) + "): the archive is continuous "
                + (archivedUpTo == null ? "nowhere yet" : "from " + continuousFrom + " to " + archivedUpTo)
                + "; point-in-time recovery past that needs a backup taken after the gap";
    }
}
