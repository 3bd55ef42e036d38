package dev.backstop.core.internal.stream;

import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * An {@link InputStream} that works in arrays: a subclass implements {@link #read(byte[], int,
 * int)} alone, and the single-byte {@link #read()} and {@link #skip} go through it, so that a
 * decorator which counts, hashes or verifies bytes sees every byte whichever method the reader
 * calls. Marks are not supported.
 *
 * <p>Single reader, like every stream.
 */
public abstract class BulkInputStream extends InputStream {
    private final byte[] one = new byte[1];

    /** Reads one byte through {@link #read(byte[], int, int)}. */
    @Override
    public int read() throws IOException {
        int n;
        do {
            n = read(one, 0, 1);
        } while (n == 0);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public final int read(byte[] b) throws IOException {
        return read(b, 0, b.length);
    }

    /**
     * Reads up to {@code len} bytes; returns how many (at least one unless {@code len} is 0), or
     * -1 at the end of the stream.
     */
    @Override
    public abstract int read(byte[] b, int off, int len) throws IOException;

    /** Checks the arguments of {@link #read(byte[], int, int)} as {@link InputStream} specifies. */
    protected static void checkRange(byte[] b, int off, int len) {
        Objects.checkFromIndexSize(off, len, Objects.requireNonNull(b, "b").length);
    }

    @Override
    public boolean markSupported() {
        return false;
    }
}
