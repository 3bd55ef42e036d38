package dev.backstop.core.internal.stream;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * An {@link OutputStream} that works in arrays: a subclass implements {@link #write(byte[], int,
 * int)} alone, and the single-byte {@link #write(int)} goes through it, so that a decorator which
 * counts, hashes or encodes bytes sees every byte whichever method the writer calls.
 *
 * <p>Single writer, like every stream.
 */
public abstract class BulkOutputStream extends OutputStream {
    private final byte[] one = new byte[1];

    /** Writes one byte through {@link #write(byte[], int, int)}. */
    @Override
    public void write(int b) throws IOException {
        one[0] = (byte) b;
        write(one, 0, 1);
    }

    @Override
    public final void write(byte[] b) throws IOException {
        write(b, 0, b.length);
    }

    @Override
    public abstract void write(byte[] b, int off, int len) throws IOException;

    /** Checks the arguments of {@link #write(byte[], int, int)} as {@link OutputStream} specifies. */
    protected static void checkRange(byte[] b, int off, int len) {
        Objects.checkFromIndexSize(off, len, Objects.requireNonNull(b, "b").length);
    }
}
