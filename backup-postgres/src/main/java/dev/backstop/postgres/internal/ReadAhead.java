package dev.backstop.postgres.internal;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.stream.ForwardingInputStream;
import dev.backstop.core.internal.stream.PipelinedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.locks.LockSupport;

/**
 * Reads a stream ahead on its own thread, through core's {@link PipelinedInputStream}: pg_dump's
 * stdout, so the process never waits on a 64 KiB pipe while the reader compresses; a restore's
 * decoding stream, so decoding and writing the spool run on two cores. Memory is bounded by
 * {@code depth × chunkSize}. Read failures, checked or not, surface from {@code read} as
 * thrown; closing stops the thread, which closes the source. Single reader.
 */
public final class ReadAhead {
    /** Linux's default pipe capacity. */
    private static final int PIPE_BYTES = 64 * 1024;
    private static final long PIPE_PAUSE_NANOS = 200_000;

    private ReadAhead() {
    }

    /** Reads {@code in} ahead on a daemon thread named {@code backstop-readahead-<name>}. */
    public static InputStream of(InputStream in, int chunkSize, int depth, String name) {
        return new PipelinedInputStream(in, thread(name), chunkSize, depth);
    }

    /** Reads {@code in} ahead on one thread of {@code threads}, started for it. */
    public static InputStream of(InputStream in, int chunkSize, int depth, ThreadFactory threads) {
        return new PipelinedInputStream(in, DaemonThreads.threadPerTask(threads), chunkSize, depth);
    }

    /**
     * Reads a process's pipe ahead. A writer such as pg_dump writes 4 KiB at a time; a reader
     * always waiting on the pipe is woken for each write, 250,000 times per GB, which cost the
     * reading thread half a second of system time per GB (and the writer its share). After a read
     * that returned less than half the pipe, this one pauses {@value #PIPE_PAUSE_NANOS} ns, less
     * than the writer takes to fill the pipe's 64 KiB at 300 MB/s, so the next read takes many
     * writes at once and the writer is not held up.
     */
    public static InputStream ofPipe(InputStream in, int chunkSize, int depth, String name) {
        return of(new PacedPipe(in), chunkSize, depth, name);
    }

    private static Executor thread(String name) {
        return DaemonThreads.threadPerTask(DaemonThreads.named("backstop-readahead-" + name));
    }

    /** Pauses before a read that follows a short one, so that the pipe fills in between. */
    private static final class PacedPipe extends ForwardingInputStream {
        private boolean pause;

        PacedPipe(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pause) {
                LockSupport.parkNanos(PIPE_PAUSE_NANOS);
            }
            int n = in.read(b, off, len);
            pause = n >= 0 && n < PIPE_BYTES / 2;
            return n;
        }
    }
}
