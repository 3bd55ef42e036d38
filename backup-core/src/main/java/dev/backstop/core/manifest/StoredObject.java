package dev.backstop.core.manifest;

import dev.backstop.core.Digest;
import dev.backstop.core.TransformSpec;
import java.util.List;
import java.util.Objects;

/**
 * One data object of a backup as the manifest records it.
 *
 * @param name            the stream name the source gave ({@code dump.pgc})
 * @param key             the repository key it is stored under
 * @param plaintextSize   bytes the source wrote
 * @param plaintextSha256 digest of the bytes the source wrote (checked end to end on restore)
 * @param storedSize      bytes stored after all transforms
 * @param storedSha256    digest of the stored bytes (checked without keys)
 * @param transforms      transforms in encode order
 */
public record StoredObject(String name, String key, long plaintextSize, Digest plaintextSha256,
                           long storedSize, Digest storedSha256, List<TransformSpec> transforms) {
    public StoredObject {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(plaintextSha256, "plaintextSha256");
        Objects.requireNonNull(storedSha256, "storedSha256");
        transforms = List.copyOf(transforms);
    }
}
