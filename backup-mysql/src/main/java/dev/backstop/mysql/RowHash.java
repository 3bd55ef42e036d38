package dev.backstop.mysql;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The 64-bit hash of one row, from the canonical bytes of its values: per column a tag byte
 * ({@code 0} for NULL, {@code 1} for a value), then for a value its length as 4 bytes big-endian
 * and its bytes. The encoding of a row is prefix-free and injective (two rows with different values
 * or NULLs encode differently), so the hash is the first 8 bytes of SHA-256 over it. Values are
 * the server's own text (DECIMAL with its scale, DOUBLE as printed, TIMESTAMP in UTC), strings as
 * their UTF-8 bytes (trailing spaces count whatever the collation says), binary values as hex.
 *
 * <p><b>Threading.</b> Not thread-safe; one per scanning thread.
 */
final class RowHash {
    private final MessageDigest sha;
    private final byte[] lengthBytes = new byte[4];

    RowHash() {
        try {
            this.sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    /** Adds the next column's value; null for SQL NULL. */
    void value(byte[] value) {
        if (value == null) {
            sha.update((byte) 0);
            return;
        }
        sha.update((byte) 1);
        int n = value.length;
        lengthBytes[0] = (byte) (n >>> 24);
        lengthBytes[1] = (byte) (n >>> 16);
        lengthBytes[2] = (byte) (n >>> 8);
        lengthBytes[3] = (byte) n;
        sha.update(lengthBytes);
        sha.update(value);
    }

    /** The row's hash; resets for the next row. */
    long finishRow() {
        return ByteBuffer.wrap(sha.digest()).getLong();
    }

    /** The hash of a whole row given as values (null for NULL). */
    static long of(byte[]... values) {
        RowHash h = new RowHash();
        for (byte[] v : values) {
            h.value(v);
        }
        return h.finishRow();
    }
}
