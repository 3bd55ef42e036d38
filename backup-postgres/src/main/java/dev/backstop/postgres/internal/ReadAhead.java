package dev.backstop.postgres.internal;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * Reads a stream on its own thread into a bounded queue of chunks: pg_dump's stdout, so the
 * process never waits on a 64 KiB pipe while the reader compresses; a restore's decoding
 * stream, so decoding and writing the spool run on two cores. Memory is bounded by
 * {@code (depth + 2) × chunkSize}: consumed chunks go back to the pump, so a restore of
 * gigabytes does not allocate (and zero, and collect) gigabytes of arrays. Read failures,
 * checked or not, surface from {@link #read} as thrown; {@link #close()} stops the
 * thread and closes the source. Single reader.
 */
public final class ReadAhead extends InputStream {
    private static final Chunk END = new Chunk(new byte[0], 0);

    /** Linux's default pipe capacity. */
    private static final int PIPE_BYTES = 64 * 1024;
    private static final long PIPE_PAUSE_NANOS = 200_000;
    private final InputStream in;
    private final long pauseNanos;
    private final BlockingQueue<Chunk> queue;
    private final BlockingQueue<byte[]> free;
    private final Thread thread;
    private volatile Throwable failure;
    private volatile boolean closed;
    private Chunk current;
    private int pos;
    private int limit;

    /** A filled buffer: {@code length} bytes of {@code data} are valid. */
    private record Chunk(byte[] data, int length) {
    }

    public ReadAhead(InputStream in, int chunkSize, int depth, String name) {
        this(in, chunkSize, depth, name, 0);
    }

    /**
     * Reads a process's pipe ahead. A writer such as pg_dump writes 4 KiB at a time; a reader
     * always waiting on the pipe is woken for each write, 250,000 times per GB, which cost the
     * reading thread half a second of system time per GB (and the writer its share). After a read
     * that returned less than half the pipe, this one pauses {@value #PIPE_PAUSE_NANOS} ns, less
     * than the writer takes to fill the pipe's 64 KiB at 300 MB/s, so the next read takes many
     * writes at once and the writer is not held up.
     */
    public static ReadAhead ofPipe(InputStream in, int chunkSize, int depth, String name) {
        return new ReadAhead(in, chunkSize, depth, name, PIPE_PAUSE_NANOS);
    }

    private ReadAhead(InputStream in, int chunkSize, int depth, String name, long pauseNanos) {
        this.pauseNanos = pauseNanos;
        this.in = in;
        this.queue = new ArrayBlockingQueue<>(depth);
        this.free = new ArrayBlockingQueue<>(depth + 2);
        this.thread = DaemonThreads.named("backstop-readahead-" + name).start(() -> pump(chunkSize));
    }

    private void pump(int chunkSize) {
        try {
            while (!closed) {
                byte[] buf = free.poll();
                if (buf == null) {
                    buf = new byte[chunkSize];
                }
                int n = fill(buf, chunkSize);
                if (n > 0) {
                    queue.put(new Chunk(buf, n));
                }
                if (n < chunkSize) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            return;
        } catch (IOException | RuntimeException | Error e) {
            // unchecked failures too (a verifying stream reports corruption unchecked): the
            // reader must see them instead of waiting for an end that never comes
            failure = e;
        }
        try {
            queue.put(END);
        } catch (InterruptedException ignored) {
            // closing: no reader is waiting
        }
    }

    /** Reads until {@code buf} holds {@code chunkSize} bytes or the source ended; returns how many. */
    private int fill(byte[] buf, int chunkSize) throws IOException {
        if (pauseNanos == 0) {
            return in.readNBytes(buf, 0, chunkSize);
        }
        int off = 0;
        while (off < chunkSize) {
            int n = in.read(buf, off, chunkSize - off);
            if (n < 0) {
                break;
            }
            off += n;
            if (n < PIPE_BYTES / 2 && off < chunkSize) {
                LockSupport.parkNanos(pauseNanos);
            }
        }
        return off;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (current == null || pos == limit) {
            if (current == END) {
                return -1;
            }
            if (current != null) {
                // fully copied out: the pump may refill it
                free.offer(current.data());
            }
            try {
                current = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while reading ahead");
            }
            pos = 0;
            limit = current.length();
            if (current == END) {
                Throwable f = failure;
                if (f instanceof IOException io) {
                    throw io;
                }
                if (f instanceof RuntimeException re) {
                    throw re;
                }
                if (f instanceof Error er) {
                    throw er;
                }
                return -1;
            }
        }
        int n = Math.min(len, limit - pos);
        System.arraycopy(current.data(), pos, b, off, n);
        pos += n;
        return n;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        thread.interrupt();
        // the pump must be done with the source before it is closed under it
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        queue.clear();
        in.close();
    }
}
