package dev.backstop.core.log;

import dev.backstop.core.Digest;
import dev.backstop.core.TransformSpec;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The metadata of one archived log object, as authenticated and read back: what the data object
 * {@code key} holds and how to decode and check it. A whole file holds bytes {@code [0,
 * plaintextSize)} of file {@code name}; a delta ({@code delta == true}) bytes {@code [from, to)}.
 *
 * @param key             the data object's key
 * @param name            the file's name
 * @param epoch           the file's epoch
 * @param delta           whether the object is a delta of an unfinished file
 * @param from            first byte of the file held
 * @param to              byte just past the last one held
 * @param plaintextSize   bytes before encoding
 * @param plaintextSha256 SHA-256 of those bytes
 * @param storedSize      bytes as stored
 * @param storedSha256    SHA-256 of the stored bytes (keyless check)
 * @param transforms      the transforms applied, in encoding order
 * @param keyRecord       the archive key record of the data key ({@code keys/<keyRecord>.dek}), or
 *                        "" when the object is not encrypted
 * @param archivedAt      when the metadata was written
 * @param attributes      what the engine recorded beside the bytes (e.g. a last commit time)
 */
public record LogObject(String key, String name, String epoch, boolean delta, long from, long to, long plaintextSize,
                        Digest plaintextSha256, long storedSize, Digest storedSha256, List<TransformSpec> transforms,
                        String keyRecord, Instant archivedAt, Map<String, String> attributes) {
    /** The metadata format this code writes and reads; earlier formats are refused by number. */
    public static final int FORMAT_VERSION = 3;

    public LogObject {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(epoch, "epoch");
        Objects.requireNonNull(plaintextSha256, "plaintextSha256");
        Objects.requireNonNull(storedSha256, "storedSha256");
        Objects.requireNonNull(keyRecord, "keyRecord");
        Objects.requireNonNull(archivedAt, "archivedAt");
        transforms = List.copyOf(transforms);
        attributes = Map.copyOf(attributes);
        if (from < 0 || to - from != plaintextSize || storedSize < 0) {
            throw new IllegalArgumentException("log object " + key + ": got [" + from + ", " + to + ") with " + plaintextSize
                    + " plaintext and " + storedSize + " stored bytes, need to - from == plaintextSize >= 0");
        }
    }
}
