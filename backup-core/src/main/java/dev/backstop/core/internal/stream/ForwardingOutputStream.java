package dev.backstop.core.internal.stream;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * A decorator of an {@link OutputStream}: writes, {@link #flush()} and {@link #close()} go to
 * {@code out}; a subclass overrides {@link #write(byte[], int, int)} to look at or change the
 * bytes and gets the single-byte path through it (see {@link BulkOutputStream}). Unlike {@link
 * java.io.FilterOutputStream}, an array write is passed on whole, never byte by byte.
 *
 * <p>{@link #close()} flushes, then always closes {@code out}, and rethrows the first failure
 * with any later one suppressed; closing twice does nothing the second time.
 */
public abstract class ForwardingOutputStream extends BulkOutputStream {
    /** The stream written to. */
    protected final OutputStream out;
    private boolean closed;

    protected ForwardingOutputStream(OutputStream out) {
        this.out = Objects.requireNonNull(out, "out");
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        Throwable first = null;
        try {
            flush();
        } catch (Throwable t) {
            first = t;
            throw t;
        } finally {
            if (first == null) {
                out.close();
            } else {
                try {
                    out.close();
                } catch (Throwable t) {
                    if (first != t) {
                        first.addSuppressed(t);
                    }
                }
            }
        }
    }
}
