package dev.backstop.postgres.internal;

import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Hashes COPY text as it streams past, however it is cut into writes: counts its lines and sums
 * a 64-bit hash of each line, modulo 2<sup>64</sup>. The sum does not depend on line order, so it
 * fingerprints a table's rows whether they come from pg_dump's archive or from a COPY of a
 * restored table. Memory is constant; nothing is buffered.
 *
 * <p><b>The line hash</b> (an xxHash64-style function with one lane, so that the result of a line
 * does not depend on where writes cut it). A line is the bytes before a {@code '\n'} (byte 0x0A),
 * without it; {@code '\r'} is an ordinary byte. With {@code n} the line's length and the constants
 * of xxHash64,
 * <pre>
 * P1 = 0x9E3779B185EBCA87, P2 = 0xC2B2AE3D27D4EB4F, P3 = 0x165667B19E3779F9, P5 = 0x27D4EB2F165667C5
 * round(acc, w) = rotateLeft(acc + w * P2, 31) * P1                  (all arithmetic mod 2^64)
 * acc = P5
 * for each complete group of 8 bytes, in order: acc = round(acc, the group read little-endian)
 * if n % 8 != 0: acc = round(acc, the remaining n % 8 bytes read little-endian, zero-extended)
 * h = acc ^ (n * P3)
 * h ^= h >>> 33; h *= P2; h ^= h >>> 29; h *= P3; h ^= h >>> 32      (unsigned shifts)
 * </pre>
 * The length enters the hash, so zero-extension cannot make two lines alike. The content sum is
 * the sum of {@code h} over all lines mod 2<sup>64</sup>; {@link #rows()} is the number of lines.
 * Bytes after the last {@code '\n'} (which COPY never leaves) count as one more line when the
 * stream is closed.
 *
 * <p>Not cryptographic: it detects accidental change (a wrong, lost or extra row), not a forger.
 * Single writer; {@link #rows()} and {@link #sum()} are final once {@link #close()} returned.
 */
public final class CopyLineHash extends OutputStream {
    static final long P1 = 0x9E3779B185EBCA87L;
    static final long P2 = 0xC2B2AE3D27D4EB4FL;
    static final long P3 = 0x165667B19E3779F9L;
    static final long P5 = 0x27D4EB2F165667C5L;

    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;
    private static final long LOW_BITS = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;

    private long acc = P5;
    private long length;
    /** Bytes of the current 8-byte group not yet mixed in (a group cut by a write), little-endian. */
    private long pending;
    private int pendingBytes;
    private long rows;
    private long sum;

    /** The hash of one line given whole, as defined above (for tests and other callers). */
    public static long hashLine(byte[] line) {
        CopyLineHash h = new CopyLineHash();
        h.write(line, 0, line.length);
        h.endLine();
        return h.sum;
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        int i = off;
        int end = off + len;
        while (i < end) {
            if (pendingBytes == 0) {
                // eight bytes at a time while the line's groups line up with the array
                while (i <= end - 8) {
                    long w = (long) LONG_LE.get(b, i);
                    long x = w ^ NEWLINES;
                    long zero = (x - LOW_BITS) & ~x & HIGH_BITS;
                    if (zero == 0) {
                        acc = round(acc, w);
                        length += 8;
                        i += 8;
                    } else {
                        // the lowest flagged byte is exactly the first newline (borrows only flag bytes above it)
                        int k = Long.numberOfTrailingZeros(zero) >>> 3;
                        if (k > 0) {
                            acc = round(acc, w & ((1L << (k << 3)) - 1));
                            length += k;
                        }
                        endLine();
                        i += k + 1;
                    }
                }
                if (i == end) {
                    break;
                }
            }
            byte c = b[i++];
            if (c == '\n') {
                endLine();
            } else {
                pending |= (c & 0xffL) << (pendingBytes << 3);
                length++;
                if (++pendingBytes == 8) {
                    acc = round(acc, pending);
                    pending = 0;
                    pendingBytes = 0;
                }
            }
        }
    }

    private static long round(long acc, long w) {
        return Long.rotateLeft(acc + w * P2, 31) * P1;
    }

    private void endLine() {
        if (pendingBytes > 0) {
            acc = round(acc, pending);
        }
        long h = acc ^ (length * P3);
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        sum += h;
        rows++;
        acc = P5;
        length = 0;
        pending = 0;
        pendingBytes = 0;
    }

    /** Ends an unterminated last line, if any; idempotent. */
    @Override
    public void close() {
        if (length > 0) {
            endLine();
        }
    }

    /** Lines seen so far. */
    public long rows() {
        return rows;
    }

    /** The sum of the line hashes so far, mod 2^64 (read it unsigned). */
    public long sum() {
        return sum;
    }
}
