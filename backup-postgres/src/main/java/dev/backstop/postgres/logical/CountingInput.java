package dev.backstop.postgres.logical;

import dev.backstop.core.internal.stream.ForwardingInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Counts the bytes read through it and, if given a copy stream, writes them there too (the head
 * of a dump, kept); never closes the stream it reads.
 */
final class CountingInput extends ForwardingInputStream {
    private final OutputStream copy;
    long count;

    CountingInput(InputStream in) {
        this(in, OutputStream.nullOutputStream());
    }

    CountingInput(InputStream in, OutputStream copy) {
        super(in);
        this.copy = copy;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) {
            copy.write(b, off, n);
            count += n;
        }
        return n;
    }

    /** Reads on until {@code limit} bytes were read in all, or the end. */
    void readUpTo(long limit) throws IOException {
        byte[] buf = new byte[256 * 1024];
        while (count < limit && read(buf, 0, (int) Math.min(buf.length, limit - count)) > 0) {
            // read() counts and copies
        }
    }

    @Override
    public void close() {
        // the caller closes the underlying stream
    }
}
