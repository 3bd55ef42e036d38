package dev.backstop.core;

import java.io.IOException;
import java.time.Instant;
import java.util.Optional;

/**
 * A delete refused because the object is under object-lock retention or legal hold (WORM). Sinks
 * that support object lock throw it from {@link Sink#delete}; retention skips such objects and
 * says why.
 */
public final class ObjectLockedException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String key;
    private final Instant retainUntil;

    /**
     * @param retainUntil when the retention ends, or null for a legal hold or when unknown
     */
    public ObjectLockedException(String key, Instant retainUntil, Throwable cause) {
        super("object " + key + " is locked " + (retainUntil == null ? "(legal hold or retention)" : "until " + retainUntil), cause);
        this.key = key;
        this.retainUntil = retainUntil;
    }

    public String key() {
        return key;
    }

    public Optional<Instant> retainUntil() {
        return Optional.ofNullable(retainUntil);
    }
}
