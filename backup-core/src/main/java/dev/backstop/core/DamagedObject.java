package dev.backstop.core;

import java.util.Objects;

/**
 * An object of the repository that exists but could not be admitted, e.g. a manifest that is
 * empty, not valid JSON, fails its checksum, sits under another backup's id or fails
 * authentication: its key and why.
 */
public record DamagedObject(String key, String reason) {
    public DamagedObject {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(reason, "reason");
    }
}
