package dev.backstop.core.internal.stream;

import dev.backstop.core.internal.concurrent.TokenBucket;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * Passes bytes on no faster than a {@link TokenBucket} grants them: each write takes its bytes
 * from the bucket (in slices of {@value #SLICE} bytes, so a large array write is spread out rather
 * than sent at once after one long wait) before handing them to {@code out}. Flush and close as
 * {@link ForwardingOutputStream}. An interrupted wait throws {@link InterruptedIOException} with
 * the thread's interrupt status restored.
 */
public final class ThrottledOutputStream extends ForwardingOutputStream {
    static final int SLICE = 64 * 1024;
    private final TokenBucket bucket;

    public ThrottledOutputStream(OutputStream out, TokenBucket bucket) {
        super(out);
        this.bucket = Objects.requireNonNull(bucket, "bucket");
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        checkRange(b, off, len);
        while (len > 0) {
            int n = Math.min(len, SLICE);
            try {
                bucket.acquire(n);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                InterruptedIOException ie = new InterruptedIOException("interrupted while waiting for the rate limit ("
                        + bucket + ")");
                ie.initCause(e);
                throw ie;
            }
            out.write(b, off, n);
            off += n;
            len -= n;
        }
    }
}
