package dev.backstop.mysql;

import java.util.Arrays;

/** A growable byte buffer that hands out its content without a second copy when full. */
final class ByteArray {
    private byte[] buf = new byte[8192];
    private int size;

    void write(byte[] b) {
        if (size + b.length > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + b.length));
        }
        System.arraycopy(b, 0, buf, size, b.length);
        size += b.length;
    }

    int size() {
        return size;
    }

    byte[] toArray() {
        return Arrays.copyOf(buf, size);
    }

    void reset() {
        size = 0;
        if (buf.length > 4 * ParallelLoad.CHUNK) {
            buf = new byte[8192];
        }
    }
}
