package dev.backstop.core.internal.stream;

import dev.backstop.core.internal.concurrent.LogContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Reads {@code upstream} on another thread into a few recycled chunks, so that the decoding
 * stages inside upstream (stored-bytes SHA-256 and AEAD in a restore) and those the reader
 * stacks on top (zstd, plaintext SHA-256) run on two cores. The input-side twin of {@link
 * PipelinedOutputStream}.
 *
 * <p>Memory is bounded: {@code depth} chunks of {@code chunkSize} bytes, allocated once. Upstream
 * belongs to the worker thread alone, which closes it when it stops (end, failure or cancel):
 * closing it from the reader while the worker is inside {@code read} would race it.
 *
 * <p>A failure of the worker, checked or not, is rethrown by {@link #read} as the same instance
 * (type and origin kept) once the chunks read before it are consumed, never an end-of-stream.
 * {@link #close()} cancels the worker and waits for it to stop. Single reader.
 */
public final class PipelinedInputStream extends BulkInputStream {
    /** How long close() waits for a worker stuck in an upstream read before leaving it to finish alone. */
    private static final long STOP_WAIT_SECONDS = 10;
    private static final Chunk END = new Chunk(new byte[0]);
    private static final Chunk CANCEL = new Chunk(new byte[0]);

    private final InputStream upstream;
    private final BlockingQueue<Chunk> full;
    private final BlockingQueue<Chunk> free;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile Throwable failure;
    private volatile boolean cancelled;
    private Chunk current;
    private int pos;
    private boolean ended;
    private boolean closed;

    /**
     * Starts reading {@code upstream} on {@code executor}: {@code depth} chunks of {@code
     * chunkSize} bytes ahead of the reader.
     */
    public PipelinedInputStream(InputStream upstream, Executor executor, int chunkSize, int depth) {
        this.upstream = upstream;
        // room for every chunk plus END, and every chunk plus CANCEL: neither side's put blocks
        this.full = new ArrayBlockingQueue<>(depth + 1);
        this.free = new ArrayBlockingQueue<>(depth + 1);
        for (int i = 0; i < depth; i++) {
            free.add(new Chunk(new byte[chunkSize]));
        }
        try {
            executor.execute(LogContext.propagate(this::fill));
        } catch (RuntimeException e) {
            closeUpstream();
            stopped.countDown();
            throw e;
        }
    }

    private void fill() {
        try {
            while (true) {
                Chunk c = free.take();
                if (c == CANCEL || cancelled) {
                    return;
                }
                boolean more = fillChunk(c);
                if (c.length > 0) {
                    full.add(c);
                } else {
                    free.add(c);
                }
                if (!more) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            failure = new InterruptedIOException("decode thread interrupted");
        } catch (Throwable t) {
            // unchecked too: a verifying stream reports corruption as IntegrityException, and the
            // reader must see it instead of waiting for an end that never comes
            failure = t;
        } finally {
            closeUpstream();
            full.add(END);
            stopped.countDown();
        }
    }

    /**
     * Fills {@code c} from upstream; false at upstream's end. On a failure the bytes read before
     * it are handed over first, as a single-threaded reader would have seen them.
     */
    private boolean fillChunk(Chunk c) throws IOException {
        c.length = 0;
        try {
            while (c.length < c.data.length) {
                int n = upstream.read(c.data, c.length, c.data.length - c.length);
                if (n < 0) {
                    return false;
                }
                c.length += n;
            }
            return true;
        } catch (IOException | RuntimeException | Error e) {
            if (c.length > 0) {
                full.add(c);
            }
            throw e;
        }
    }

    private void closeUpstream() {
        try {
            upstream.close();
        } catch (IOException | RuntimeException e) {
            if (failure == null && !cancelled) {
                failure = e;
            }
        }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("stream closed");
        }
        if (len == 0) {
            return 0;
        }
        if (!nextChunk()) {
            return -1;
        }
        int n = Math.min(len, current.length - pos);
        System.arraycopy(current.data, pos, b, off, n);
        pos += n;
        return n;
    }

    /**
     * Writes every remaining byte to {@code out} straight from the read-ahead chunks, without the
     * copy into a caller's array that {@link #read} makes; a worker's failure is thrown as {@link
     * #read} throws it, after the bytes before it were written.
     */
    @Override
    public long transferTo(OutputStream out) throws IOException {
        Objects.requireNonNull(out, "out");
        if (closed) {
            throw new IOException("stream closed");
        }
        long total = 0;
        while (nextChunk()) {
            int n = current.length - pos;
            out.write(current.data, pos, n);
            pos += n;
            total += n;
        }
        return total;
    }

    /**
     * Makes {@code current} a chunk with bytes left to read; false at the end of the stream (a
     * worker's failure is thrown there instead).
     */
    private boolean nextChunk() throws IOException {
        while (current == null || pos == current.length) {
            if (ended) {
                return endOrFailure() >= 0;
            }
            if (current != null) {
                free.add(current);
                current = null;
            }
            Chunk c;
            try {
                c = full.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for the decode thread");
            }
            if (c == END) {
                ended = true;
                return endOrFailure() >= 0;
            }
            current = c;
            pos = 0;
        }
        return true;
    }

    private int endOrFailure() throws IOException {
        Throwable t = failure;
        if (t == null) {
            return -1;
        }
        if (t instanceof IOException io) {
            throw io;
        }
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error err) {
            throw err;
        }
        throw new IOException(t);
    }

    @Override
    public int available() {
        return current == null ? 0 : current.length - pos;
    }

    /**
     * Cancels the worker and waits until it stopped and closed upstream. If interrupted, or if
     * upstream does not return within 10 s, returns earlier (interrupt status kept); the worker then
     * still stops and closes upstream as soon as its read returns.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cancelled = true;
        free.add(CANCEL);
        try {
            stopped.await(STOP_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the worker has stopped: it then no longer touches upstream, which it has closed. */
    public boolean stopped() {
        return stopped.getCount() == 0;
    }
}
