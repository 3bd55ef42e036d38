package dev.backstop.core;

import java.util.Objects;

/** Row count and content hash of one table, taken inside the backup's snapshot. */
public record TableFingerprint(long rows, String contentHash) {
    public TableFingerprint {
        if (rows < 0) {
            throw new IllegalArgumentException("rows: got " + rows + ", must be >= 0");
        }
        Objects.requireNonNull(contentHash, "contentHash");
    }
}
