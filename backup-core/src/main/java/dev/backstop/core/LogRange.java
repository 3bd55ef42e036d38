package dev.backstop.core;

import java.util.Objects;

/**
 * A range of archived logs a backup needs to be restored, or that an archive holds.
 *
 * <p>{@code stream} names one log history in the repository ({@code wal/<system-id>} for
 * PostgreSQL, {@code binlog/<server-id>} for MySQL). Positions are engine positions mapped to
 * longs that grow with history: a PostgreSQL LSN as is; a binlog as {@code fileIndex << 32 |
 * offset}. {@code start} is inclusive, {@code end} exclusive.
 */
public record LogRange(String stream, long start, long end) {
    public LogRange {
        Objects.requireNonNull(stream, "stream");
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("log range: got [" + start + ", " + end + "), need 0 <= start <= end");
        }
    }

    /** Whether this range covers {@code other} entirely (same stream). */
    public boolean covers(LogRange other) {
        return stream.equals(other.stream) && start <= other.start && other.end <= end;
    }
}
