package dev.backstop.core.internal.stream;

import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * A decorator of an {@link InputStream}: reads, {@link #available()} and {@link #close()} go to
 * {@code in}; a subclass overrides {@link #read(byte[], int, int)} to look at or change the
 * bytes and gets the single-byte and skipping paths through it (see {@link BulkInputStream}).
 * Unlike {@link java.io.FilterInputStream}, {@code skip} and {@code read()} never bypass the
 * subclass. Closing closes {@code in}.
 */
public abstract class ForwardingInputStream extends BulkInputStream {
    /** The stream read from. */
    protected final InputStream in;

    protected ForwardingInputStream(InputStream in) {
        this.in = Objects.requireNonNull(in, "in");
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return in.read(b, off, len);
    }

    @Override
    public int available() throws IOException {
        return in.available();
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
