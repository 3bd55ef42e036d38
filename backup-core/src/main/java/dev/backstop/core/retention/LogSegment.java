package dev.backstop.core.retention;

import dev.backstop.core.LogRange;
import java.util.Objects;

/**
 * One archived log object (a WAL segment, a binlog file) as a {@link LogArchive} lists it.
 *
 * @param key   the object key in the archive; opaque to retention
 * @param range the positions it holds
 * @param bytes its stored size
 */
public record LogSegment(String key, LogRange range, long bytes) {
    public LogSegment {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(range, "range");
        if (bytes < 0) {
            throw new IllegalArgumentException("log segment " + key + ": got " + bytes + " bytes, must be >= 0");
        }
    }
}
