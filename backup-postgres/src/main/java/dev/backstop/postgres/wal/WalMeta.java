package dev.backstop.postgres.wal;

import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.MetadataKey;
import dev.backstop.core.crypto.AeadTransform;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The metadata object of one stored WAL object: one {@code name=value} per line, written after
 * the data; its presence is what makes the object archived. The text is the archive format:
 * existing archives must keep reading the same. Version 2 adds {@code keyRecord} (the archive key
 * record, under {@code keys/}, that holds the data key as re-wrapped by the current KEK) and, when
 * written with keys, a last line {@code mac=<tag>}: the repository's {@link MetadataKey} tag over
 * every byte before that line, bound to the metadata object's key and the log stream.
 */
record WalMeta(String name, long systemId, long plaintextSize, Digest plaintextSha256, long storedSize,
               Digest storedSha256, int zstdLevel, String kekId, byte[] wrappedKey, String archivedAt,
               Instant lastCommitTime, String keyRecord, int formatVersion) {
    /** Reads at most this much of a metadata object; a record is a few hundred bytes. */
    static final int MAX_BYTES = 64 * 1024;
    private static final String MAC = "mac=";

    /** The bytes to store; sealed with {@code key} (null: unauthenticated) for object {@code metaKey} of {@code stream}. */
    byte[] encode(MetadataKey key, String metaKey, String stream) {
        byte[] content = encode();
        if (key == null) {
            return content;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(content);
        out.writeBytes((MAC + key.tagText(metaKey, stream, content) + "\n").getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    /**
     * Checks the tag of stored metadata with {@code key} (null if the repository has none);
     * returns the authenticated bytes. A
     * version-1 object (written before tags) of an encrypted object is accepted: its data key is
     * bound to the cluster and its data to its key by the AEAD, so it cannot be moved or forged
     * without the KEK. Anything else without a valid tag is refused.
     *
     * @throws IntegrityException naming {@code metaKey}
     */
    static byte[] authenticate(MetadataKey key, String metaKey, String stream, byte[] stored) {
        String text = new String(stored, StandardCharsets.UTF_8);
        int at = text.startsWith(MAC) ? 0 : text.lastIndexOf("\n" + MAC) + 1;
        if (at <= 0 && !text.startsWith(MAC)) {
            WalMeta m = decode(metaKey, stored);
            if (m.formatVersion() == 1 && !m.kekId().isEmpty()) {
                return stored;
            }
            throw new IntegrityException(metaKey, "WAL metadata authentication", "a tag by the repository's metadata key",
                    "none (format " + m.formatVersion() + (m.kekId().isEmpty() ? ", unencrypted" : "")
                            + "): forged, downgraded or written without keys", null, null);
        }
        byte[] content = text.substring(0, at).getBytes(StandardCharsets.UTF_8);
        if (key == null) {
            throw new IntegrityException(metaKey, "WAL metadata authentication", "the repository's metadata key, "
                    + MetadataKey.OBJECT, "none: the object carries a tag but the key record is missing", null, null);
        }
        key.verify(metaKey, stream, content, text.substring(at + MAC.length()).trim());
        return content;
    }

    byte[] encode() {
        Map<String, String> m = new TreeMap<>();
        m.put("formatVersion", "2");
        if (keyRecord != null) {
            m.put("keyRecord", keyRecord);
        }
        m.put("name", name);
        m.put("systemId", Long.toUnsignedString(systemId));
        m.put("plaintextSize", Long.toString(plaintextSize));
        m.put("plaintextSha256", plaintextSha256.hex());
        m.put("storedSize", Long.toString(storedSize));
        m.put("storedSha256", storedSha256.hex());
        m.put("transforms", "zstd(level=" + zstdLevel + ")" + (kekId.isEmpty() ? "" : ",aead(" + AeadTransform.ALGORITHM + ")"));
        m.put("kekId", kekId);
        m.put("wrappedKey", Base64.getEncoder().encodeToString(wrappedKey));
        m.put("archivedAt", archivedAt);
        if (lastCommitTime != null) {
            // read by the RPO view: the commit time of the archived position without fetching the segment
            m.put("lastCommitTime", lastCommitTime.toString());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        m.forEach((k, v) -> out.writeBytes((k + "=" + v + "\n").getBytes(StandardCharsets.UTF_8)));
        return out.toByteArray();
    }

    /** Parses metadata bytes of object {@code key} (a trailing {@code mac=} line is ignored); anything else is an {@link IntegrityException}. */
    static WalMeta decode(String key, byte[] bytes) {
        Map<String, String> m = new TreeMap<>();
        for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        try {
            String version = m.get("formatVersion");
            if (!"1".equals(version) && !"2".equals(version)) {
                throw new IllegalArgumentException("formatVersion " + version + " (this version reads 1 and 2)");
            }
            String transforms = Objects.requireNonNull(m.get("transforms"), "transforms");
            int level = Integer.parseInt(transforms.replaceAll("^zstd\\(level=(-?\\d+)\\).*$", "$1"));
            return new WalMeta(m.get("name"), Long.parseUnsignedLong(m.get("systemId")), Long.parseLong(m.get("plaintextSize")),
                    new Digest(m.get("plaintextSha256")), Long.parseLong(m.get("storedSize")), new Digest(m.get("storedSha256")),
                    level, m.getOrDefault("kekId", ""), Base64.getDecoder().decode(m.getOrDefault("wrappedKey", "")),
                    m.get("archivedAt"), m.containsKey("lastCommitTime") ? Instant.parse(m.get("lastCommitTime")) : null,
                    m.get("keyRecord"), Integer.parseInt(version));
        } catch (RuntimeException e) {
            throw new IntegrityException(key, "WAL metadata", "a version-1 or -2 metadata record", String.valueOf(e.getMessage()),
                    e, null);
        }
    }
}
