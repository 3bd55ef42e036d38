package dev.backstop.core;

import java.time.Instant;
import java.util.Objects;

/** One published object as a {@link Sink} lists it. */
public record ObjectInfo(String key, long size, Instant lastModified) {
    public ObjectInfo {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(lastModified, "lastModified");
    }
}
