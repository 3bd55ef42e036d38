package dev.backstop.core;

import java.time.Instant;
import java.util.Objects;

/**
 * A write a {@link Sink} started and never committed nor aborted, as {@link IncompleteWrites}
 * lists it: a temporary file, an unfinished multipart upload. Either its writer is still running
 * or it crashed and left the bytes behind.
 *
 * @param key          the object key the write would have been published under
 * @param handle       what the sink needs to discard it (a temporary file's name, an upload id);
 *                     opaque to callers
 * @param size         bytes written so far, or -1 when the sink does not know without reading
 * @param lastActivity when the write was last seen progressing (a file's modification time) or,
 *                     where the store keeps no such time, when it started
 */
public record IncompleteWrite(String key, String handle, long size, Instant lastActivity) {
    public IncompleteWrite {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(handle, "handle");
        Objects.requireNonNull(lastActivity, "lastActivity");
        if (size < -1) {
            throw new IllegalArgumentException("size: got " + size + ", expected -1 (unknown) or more");
        }
    }
}
