package dev.backstop.mysql;

import java.util.Arrays;

/** A growable byte buffer that hands out its content without a second copy when full. */
final class ByteArray {
    private byte[] buf = new byte[8192];
    private int size;

    void write(byte[] b) {
        write(b, 0, b.length);
    }

    void write(byte[] b, int off, int len) {
        if (size + len > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + len));
        }
        System.arraycopy(b, off, buf, size, len);
        size += len;
    }

    int size() {
        return size;
    }

    byte[] toArray() {
        return Arrays.copyOf(buf, size);
    }

    /** Empties the buffer and keeps its memory, for one that is reused line after line. */
    void clear() {
        size = 0;
    }

    void reset() {
        size = 0;
        if (buf.length > 4 * ParallelLoad.CHUNK) {
            buf = new byte[8192];
        }
    }
}
