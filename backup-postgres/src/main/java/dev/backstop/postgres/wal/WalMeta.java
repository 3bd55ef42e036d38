package dev.backstop.postgres.wal;

import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
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
 * the data; its presence is what makes the object archived. The text is the archive format
 * (version 1): existing archives must keep reading the same.
 */
record WalMeta(String name, long systemId, long plaintextSize, Digest plaintextSha256, long storedSize,
               Digest storedSha256, int zstdLevel, String kekId, byte[] wrappedKey, String archivedAt,
               Instant lastCommitTime) {
    /** Reads at most this much of a metadata object; a version-1 record is a few hundred bytes. */
    static final int MAX_BYTES = 64 * 1024;

    byte[] encode() {
        Map<String, String> m = new TreeMap<>();
        m.put("formatVersion", "1");
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

    /** Parses the metadata object {@code key}; anything but a version-1 record is an {@link IntegrityException}. */
    static WalMeta decode(String key, byte[] bytes) {
        Map<String, String> m = new TreeMap<>();
        for (String line : new String(bytes, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        try {
            if (!"1".equals(m.get("formatVersion"))) {
                throw new IllegalArgumentException("formatVersion " + m.get("formatVersion") + " (this version reads 1)");
            }
            String transforms = Objects.requireNonNull(m.get("transforms"), "transforms");
            int level = Integer.parseInt(transforms.replaceAll("^zstd\\(level=(-?\\d+)\\).*$", "$1"));
            return new WalMeta(m.get("name"), Long.parseUnsignedLong(m.get("systemId")), Long.parseLong(m.get("plaintextSize")),
                    new Digest(m.get("plaintextSha256")), Long.parseLong(m.get("storedSize")), new Digest(m.get("storedSha256")),
                    level, m.getOrDefault("kekId", ""), Base64.getDecoder().decode(m.getOrDefault("wrappedKey", "")),
                    m.get("archivedAt"), m.containsKey("lastCommitTime") ? Instant.parse(m.get("lastCommitTime")) : null);
        } catch (RuntimeException e) {
            throw new IntegrityException(key, "WAL metadata", "a version-1 metadata record", String.valueOf(e.getMessage()), e, null);
        }
    }
}
