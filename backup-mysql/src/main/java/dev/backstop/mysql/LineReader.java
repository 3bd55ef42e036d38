package dev.backstop.mysql;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Splits a stream into lines, each with its line end; every line returned is a new array. */
final class LineReader {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private final InputStream in;
    private final byte[] buf = new byte[ParallelLoad.CHUNK];
    /** The start of a line longer than what is left of {@link #buf}: a dump's INSERT is up to a megabyte. */
    private final ByteArray longLine = new ByteArray();
    private int pos;
    private int limit;
    private long count;

    LineReader(InputStream in) {
        this.in = in;
    }

    long count() {
        return count;
    }

    byte[] next() throws IOException {
        longLine.clear();
        while (true) {
            if (pos == limit) {
                int n = in.read(buf, 0, buf.length);
                if (n < 0) {
                    return longLine.size() == 0 ? null : longLine.toArray();
                }
                count += n;
                pos = 0;
                limit = n;
            }
            int start = pos;
            pos = newline(buf, pos, limit);
            boolean end = pos < limit;
            if (end) {
                pos++;
            }
            if (longLine.size() == 0 && end) {
                return Arrays.copyOfRange(buf, start, pos);
            }
            longLine.write(buf, start, pos - start);
            if (end) {
                return longLine.toArray();
            }
        }
    }

    /** The index of the first '\n' in {@code b[i..end)}, or {@code end}; eight bytes at a time. */
    static int newline(byte[] b, int i, int end) {
        while (i + 8 <= end) {
            long w = (long) LONGS.get(b, i) ^ 0x0A0A0A0A0A0A0A0AL;
            // a byte of w is zero where the input holds '\n'; the lowest flag is exact
            long hit = (w - 0x0101010101010101L) & ~w & 0x8080808080808080L;
            if (hit != 0) {
                return i + (Long.numberOfTrailingZeros(hit) >>> 3);
            }
            i += 8;
        }
        while (i < end && b[i] != '\n') {
            i++;
        }
        return i;
    }
}
