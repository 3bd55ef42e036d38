package dev.backstop.core.internal.stream;

import dev.backstop.core.internal.concurrent.LogContext;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;

/**
 * Hands written bytes to another thread that writes them downstream, so that the stages before
 * and after it (compression here, encryption and hashing there) run on two cores.
 *
 * <p>Memory is bounded: at most {@code depth} chunks of {@code chunkSize} bytes exist, recycled
 * through a free list. {@link #close()} waits until the downstream thread has written and closed
 * everything, and rethrows its failure; a downstream failure also surfaces on the next write.
 * {@link #cancel()} stops the downstream thread without finishing the stream.
 */
public final class PipelinedOutputStream extends BulkOutputStream {
    private static final Chunk END = new Chunk(new byte[0]);

    private final OutputStream downstream;
    private final BlockingQueue<Chunk> full;
    private final BlockingQueue<Chunk> free;
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile Throwable failure;
    private volatile boolean cancelled;
    private Chunk current;
    private boolean closed;

    /**
     * Starts writing to {@code downstream} on {@code executor}, through {@code depth} chunks of
     * {@code chunkSize} bytes.
     */
    public PipelinedOutputStream(OutputStream downstream, Executor executor, int chunkSize, int depth) {
        this.downstream = downstream;
        this.full = new ArrayBlockingQueue<>(depth + 1);
        this.free = new ArrayBlockingQueue<>(depth);
        for (int i = 0; i < depth; i++) {
            free.add(new Chunk(new byte[chunkSize]));
        }
        executor.execute(LogContext.propagate(this::drain));
    }

    private void drain() {
        try {
            while (true) {
                Chunk c = full.take();
                if (c == END) {
                    break;
                }
                if (failure == null && !cancelled) {
                    try {
                        downstream.write(c.data, 0, c.length);
                    } catch (Throwable t) {
                        failure = t;
                    }
                }
                c.length = 0;
                free.add(c);
            }
            if (failure == null && !cancelled) {
                downstream.close();
            }
        } catch (Throwable t) {
            if (failure == null) {
                failure = t;
            }
        } finally {
            done.countDown();
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        ensureOpen();
        while (len > 0) {
            if (current == null) {
                current = take();
            }
            int n = Math.min(len, current.data.length - current.length);
            System.arraycopy(b, off, current.data, current.length, n);
            current.length += n;
            off += n;
            len -= n;
            if (current.length == current.data.length) {
                handOff();
            }
        }
    }

    /** Hands over the partial chunk; does not wait for it to be written downstream. */
    @Override
    public void flush() throws IOException {
        ensureOpen();
        if (current != null && current.length > 0) {
            handOff();
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (current != null && current.length > 0 && failure == null) {
                handOff();
            }
            full.put(END);
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancel();
            throw new InterruptedIOException("interrupted while finishing the stream");
        }
        rethrow();
    }

    /** Stops the downstream thread without closing downstream; for aborting a failed capture. */
    public void cancel() {
        cancelled = true;
        if (!closed) {
            closed = true;
            full.offer(END);
        }
    }

    /** Waits up to {@code millis} for the downstream thread to stop after {@link #cancel()}. */
    public boolean awaitStopped(long millis) {
        try {
            return done.await(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("stream closed");
        }
        rethrow();
    }

    private Chunk take() throws IOException {
        try {
            Chunk c;
            // poll so a downstream failure is noticed even while no chunk comes back
            while ((c = free.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS)) == null) {
                rethrow();
            }
            return c;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the downstream stage");
        }
    }

    private void handOff() throws IOException {
        try {
            full.put(current);
            current = null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while handing off a chunk");
        }
        rethrow();
    }

    private void rethrow() throws IOException {
        Throwable t = failure;
        if (t == null) {
            return;
        }
        if (t instanceof IOException io) {
            throw new IOException(io.getMessage(), io);
        }
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error err) {
            throw err;
        }
        throw new IOException(t);
    }
}
