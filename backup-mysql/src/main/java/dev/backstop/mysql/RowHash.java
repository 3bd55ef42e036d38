package dev.backstop.mysql;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The 64-bit hash of one row, from the canonical encoding of its values: per column a tag byte
 * ({@code 0} for NULL, {@code 1} for a value), then for a value its length as 4 bytes big-endian
 * and its bytes. The encoding of a row is prefix-free and injective (two rows with different values
 * or NULLs encode differently). {@link #finishRow()} hashes it with XXH64; {@link
 * #finishRowSha256()} with the first 8 bytes of SHA-256, the hash of fingerprints recorded as
 * server text ({@code m:}), kept so such backups can still be drilled.
 *
 * <p>Both sides of a comparison feed it the same values: the dump's side ({@link DumpRows})
 * unescaped string literals, decoded hex literals and number literals as written; the server's
 * side ({@link MariaDbFingerprints}) the same values as the server sends them to a dump.
 *
 * <p><b>Threading.</b> Not thread-safe; one per scanning thread.
 */
final class RowHash {
    private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private byte[] row = new byte[1024];
    private int length;
    private int valueStart = -1;
    private MessageDigest sha;

    /** Adds the next column's value; null for SQL NULL. */
    void value(byte[] value) {
        if (value == null) {
            nullValue();
            return;
        }
        beginValue();
        append(value, 0, value.length);
        endValue();
    }

    void nullValue() {
        ensure(1);
        row[length++] = 0;
    }

    /** Starts a non-NULL value whose bytes follow through {@link #append} and {@link #appendByte}. */
    void beginValue() {
        ensure(5);
        row[length] = 1;
        valueStart = length + 5;
        length += 5;
    }

    void append(byte[] b, int off, int len) {
        ensure(len);
        System.arraycopy(b, off, row, length, len);
        length += len;
    }

    /**
     * The row's buffer, with room for {@code more} bytes from {@link #length()} on, for a caller
     * that writes a value's bytes in place and then sets {@link #setLength}: one capacity check
     * for a run of bytes instead of one per byte.
     */
    byte[] reserve(int more) {
        ensure(more);
        return row;
    }

    /** The length of the row's encoding so far. */
    int length() {
        return length;
    }

    /** Sets the length after bytes were written in place into the buffer {@link #reserve} returned. */
    void setLength(int length) {
        this.length = length;
    }

    void appendByte(int b) {
        ensure(1);
        row[length++] = (byte) b;
    }

    /** Appends {@code v}'s four bytes, least significant first. */
    void appendInt(int v) {
        ensure(4);
        INTS.set(row, length, v);
        length += 4;
    }

    void endValue() {
        int n = length - valueStart;
        row[valueStart - 4] = (byte) (n >>> 24);
        row[valueStart - 3] = (byte) (n >>> 16);
        row[valueStart - 2] = (byte) (n >>> 8);
        row[valueStart - 1] = (byte) n;
        valueStart = -1;
    }

    /** The row's XXH64; resets for the next row. */
    long finishRow() {
        long h = Xxh64.hash(row, 0, length);
        length = 0;
        return h;
    }

    /** The first 8 bytes of the row's SHA-256; resets for the next row. */
    long finishRowSha256() {
        if (sha == null) {
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 is required of every JVM", e);
            }
        }
        sha.update(row, 0, length);
        length = 0;
        return ByteBuffer.wrap(sha.digest()).getLong();
    }

    private void ensure(int more) {
        if (length + more > row.length) {
            row = Arrays.copyOf(row, Math.max(row.length * 2, length + more));
        }
    }

    /** The XXH64 row hash of a whole row given as values (null for NULL). */
    static long of(byte[]... values) {
        RowHash h = new RowHash();
        for (byte[] v : values) {
            h.value(v);
        }
        return h.finishRow();
    }
}
