package dev.backstop.benchmarks;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * Benchmark inputs. pgbench-like dumps compress ~190x and flatter every compressor, so the
 * realistic case is {@link #MIXED}: rows of text, numbers, timestamps, JSON and random ids that
 * zstd-3 shrinks about 2-3x, like an application database.
 */
public enum Payload {
    /** pg_dump plain text of narrow numeric tables (very compressible). */
    SQL_DUMP,
    /** Application-like rows: names, JSON, UUIDs, base64 blobs (~2-3x with zstd-3). */
    MIXED,
    /** Incompressible bytes (already-compressed or encrypted data). */
    RANDOM;

    private static final String[] WORDS = {"alpha", "shipped", "pending", "refund", "customer", "Berlin", "Lisbon",
        "order", "invoice", "premium", "standard", "express", "returned", "delivered", "EUR", "USD"};

    /** {@code size} bytes of this payload, the same for the same seed. */
    public byte[] generate(int size, long seed) {
        Random r = new Random(seed);
        byte[] out = new byte[size];
        if (this == RANDOM) {
            r.nextBytes(out);
            return out;
        }
        StringBuilder sb = new StringBuilder(size + 512);
        long id = 1;
        while (sb.length() < size) {
            if (this == SQL_DUMP) {
                sb.append(id++).append('\t').append(r.nextInt(10)).append('\t').append(r.nextInt(100_000) - 50_000)
                        .append("\t                                                                                    \n");
            } else {
                byte[] blob = new byte[24 + r.nextInt(48)];
                r.nextBytes(blob);
                sb.append(id++).append('\t').append(WORDS[r.nextInt(WORDS.length)]).append(' ')
                        .append(WORDS[r.nextInt(WORDS.length)]).append('\t')
                        .append(new java.util.UUID(r.nextLong(), r.nextLong())).append('\t')
                        .append(String.format("%d.%02d", r.nextInt(5000), r.nextInt(100))).append('\t')
                        .append("2026-").append(1 + r.nextInt(12)).append('-').append(1 + r.nextInt(28))
                        .append(" 12:").append(10 + r.nextInt(50)).append(":00+00\t")
                        .append("{\"status\":\"").append(WORDS[r.nextInt(WORDS.length)]).append("\",\"qty\":")
                        .append(r.nextInt(20)).append(",\"tags\":[\"").append(WORDS[r.nextInt(WORDS.length)])
                        .append("\"]}\t").append(java.util.Base64.getEncoder().encodeToString(blob)).append('\n');
            }
        }
        byte[] text = sb.toString().getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, out, 0, size);
        return out;
    }
}
