package dev.backstop.core.internal.zstd;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.transform.ZstdTransform;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The framed layout of {@link ZstdTransform}: record layouts shared by its encoder and decoder.
 *
 * <p>Each zstd frame is preceded by a 24-byte zstd <i>skippable frame</i> (magic {@code 0x184D2A5B},
 * length 16) holding, little-endian, the frame's number (u32, from 0), its compressed length (u32),
 * its plaintext length (u32) and a copy of its content checksum (u32, the frame's last 4 bytes). The
 * stream ends with a skippable end record (magic {@code 0x184D2A5E}, length 16): plaintext total (u64),
 * frame count (u32), frame size (u32). Any zstd decoder skips these records, so the stream is
 * standard; ours splits frames without parsing zstd block headers, refuses reordered frames by
 * number and checksum copy, and knows a stream cut at a frame boundary by the missing end record.
 */
public final class ZstdFrames {
    public static final int FRAME_MAGIC = 0x184D2A5B;
    public static final int END_MAGIC = 0x184D2A5E;
    /** Skippable magic and length, then 16 bytes of payload, for both record kinds. */
    public static final int RECORD = 24;
    public static final int PAYLOAD = 16;
    /** How long close() waits for a thread inside a native call (one frame's work: milliseconds). */
    public static final long STOP_WAIT_SECONDS = 10;


    private ZstdFrames() {
    }

    /**
     * A pool of {@code n} threads from {@code threads}, or when it is null daemon threads named
     * {@code backstop-zstd-<role>-<k>}, started on demand.
     */
    public static Pool pool(int n, String role, ThreadFactory threads) {
        return new Pool(n, threads != null ? threads : DaemonThreads.numbered("backstop-zstd-" + role));
    }

    /** Stops a pool's threads and waits until they have ended (keeping the interrupt status). */
    public static void stop(Pool pool) {
        pool.shutdownNow();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_SECONDS);
        try {
            // the executor reports termination a moment before its last thread is gone: join them
            for (Thread t : pool.threads) {
                long left = deadline - System.nanoTime();
                if (left > 0) {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A fixed pool that remembers its threads, so that {@link #stop} can wait for them. */
    public static final class Pool extends ThreadPoolExecutor {
        private final List<Thread> threads = new CopyOnWriteArrayList<>();

        private Pool(int n, ThreadFactory factory) {
            super(n, n, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
            setThreadFactory(r -> {
                Thread t = factory.newThread(r);
                threads.add(t);
                return t;
            });
        }

        /** Runs {@code task} with the submitting thread's log context, as every hand-off does. */
        @Override
        public void execute(Runnable task) {
            super.execute(LogContext.propagate(task));
        }
    }

    public static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    public static int getInt(byte[] b, int off) {
        return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8 | (b[off + 2] & 0xff) << 16 | (b[off + 3] & 0xff) << 24;
    }

    public static byte[] frameRecord(int number, int compressed, int plain, int checksum) {
        byte[] r = new byte[RECORD];
        putInt(r, 0, FRAME_MAGIC);
        putInt(r, 4, PAYLOAD);
        putInt(r, 8, number);
        putInt(r, 12, compressed);
        putInt(r, 16, plain);
        putInt(r, 20, checksum);
        return r;
    }

    public static byte[] endRecord(long total, int frames, int frameSize) {
        byte[] r = new byte[RECORD];
        putInt(r, 0, END_MAGIC);
        putInt(r, 4, PAYLOAD);
        putInt(r, 8, (int) total);
        putInt(r, 12, (int) (total >>> 32));
        putInt(r, 16, frames);
        putInt(r, 20, frameSize);
        return r;
    }
}
