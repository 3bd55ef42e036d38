package dev.backstop.postgres.physical;

import dev.backstop.postgres.wal.WalFile;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Builds a {@code backup_manifest} in PostgreSQL's format version 1, as {@code pg_basebackup}
 * writes it, so that {@code pg_verifybackup} (checksums included) accepts the backup: one line
 * per file with its size, modification time and CRC-32C, the WAL range, and a SHA-256 of all
 * the text before the {@code Manifest-Checksum} line.
 *
 * <p>Memory grows with the number of files (about 170 bytes each), never with their size.
 * Not thread-safe.
 */
final class ManifestWriter {
    private static final DateTimeFormatter MODIFIED = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'GMT'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    private final StringBuilder files = new StringBuilder(64 * 1024);
    private int count;

    /** Adds a file; {@code crc32c} is {@link java.util.zip.CRC32C#getValue()} of exactly the bytes written. */
    void add(String path, long size, Instant modified, long crc32c) {
        files.append(count == 0 ? "" : ",\n")
                .append("{ \"Path\": ").append(quote(path))
                .append(", \"Size\": ").append(size)
                .append(", \"Last-Modified\": \"").append(MODIFIED.format(modified))
                .append("\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"").append(crcHex(crc32c)).append("\" }");
        count++;
    }

    int files() {
        return count;
    }

    /** The whole manifest for WAL from {@code startLsn} to {@code endLsn} on {@code timeline}. */
    byte[] finish(int timeline, long startLsn, long endLsn) {
        StringBuilder sb = new StringBuilder(files.length() + 512);
        sb.append("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n").append(files).append(count == 0 ? "" : "\n")
                .append("],\n\"WAL-Ranges\": [\n{ \"Timeline\": ").append(timeline)
                .append(", \"Start-LSN\": \"").append(WalFile.formatLsn(startLsn))
                .append("\", \"End-LSN\": \"").append(WalFile.formatLsn(endLsn)).append("\" }\n],\n");
        byte[] body = sb.toString().getBytes(StandardCharsets.UTF_8);
        String checksum = HexFormat.of().formatHex(sha256(body));
        byte[] tail = ("\"Manifest-Checksum\": \"" + checksum + "\"}\n").getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[body.length + tail.length];
        System.arraycopy(body, 0, out, 0, body.length);
        System.arraycopy(tail, 0, out, body.length, tail.length);
        return out;
    }

    /**
     * PostgreSQL prints a CRC-32C as the hex of its four bytes in memory order, which on every
     * platform it supports for this is little-endian: the reverse of the usual big-endian hex.
     */
    static String crcHex(long crc32c) {
        return String.format(Locale.ROOT, "%08x", Integer.reverseBytes((int) crc32c));
    }

    /** A JSON string as PostgreSQL's escape_json writes it. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }
}
