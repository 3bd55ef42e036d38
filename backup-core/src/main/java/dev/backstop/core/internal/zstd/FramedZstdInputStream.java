package dev.backstop.core.internal.zstd;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.backstop.core.internal.stream.BulkInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;

/**
 * Reads the framed layout of {@link ZstdFrames}: the reading thread splits the input into frames
 * by their records and hands each to one of {@code threads} decode threads, then returns the
 * decoded frames in order. At most {@code threads + 2} frames are held: the one being read out
 * and {@code threads + 1} read ahead.
 *
 * <p>Everything that is wrong is an {@link IOException} naming the frame and its offset, raised
 * in stream order (after the bytes of the frames before it): a damaged frame (zstd's content
 * checksum, content size), a frame whose record does not match it (number, lengths, checksum
 * copy: reordered or swapped frames), a stream cut inside a frame or at a frame boundary (no end
 * record), an end record that disagrees with the frames, bytes after the end record. The decode
 * threads stop at the end of the stream and at {@link #close()}, which closes {@code in}.
 */
public final class FramedZstdInputStream extends BulkInputStream {
    private final InputStream in;
    private final int frameSize;
    private final int threads;
    private final int bound;
    private final ConcurrentLinkedQueue<ZstdDecompressCtx> contexts = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<Future<Frame>> ahead = new ArrayDeque<>();
    private final ArrayDeque<ByteBuffer> freePlain = new ArrayDeque<>();
    private final ArrayDeque<ByteBuffer> freeCompressed = new ArrayDeque<>();
    /** Carries compressed bytes from {@code in} into their direct buffer. */
    private final byte[] scratch = new byte[64 * 1024];
    private final byte[] record = new byte[ZstdFrames.RECORD];
    private ZstdFrames.Pool pool;
    /** Where the decode pool's threads come from; null for Backstop's own daemon threads. */
    private final ThreadFactory threadFactory;
    private Frame current;
    private int pos;
    /** Offset in the encoded stream of the next record. */
    private long offset;
    private int frames;
    private long total;
    /** No more records to read: the end record was checked, or a failure is queued. */
    private boolean inputDone;
    private boolean closed;
    private Throwable failure;
    /** Size of new compressed-frame buffers. */
    private int compressedSize;

    /** Direct buffers, off the Java heap as zstd's own decoder keeps its window. */
    private record Frame(ByteBuffer plain, int length, ByteBuffer compressed) {
    }

    public FramedZstdInputStream(InputStream in, int frameSize, int threads, ThreadFactory threadFactory) {
        this.in = in;
        this.threadFactory = threadFactory;
        this.frameSize = frameSize;
        this.threads = threads;
        this.bound = Math.toIntExact(Zstd.compressBound(frameSize));
    }

    @Override
    public int read() throws IOException {
        if (current != null && pos < current.length() && !closed) {
            return current.plain().get(pos++) & 0xff;
        }
        return super.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("stream closed");
        }
        if (failure != null) {
            // frames after a failed one must never be handed out as if they followed it
            throw new IOException("framed zstd: the stream failed earlier: " + failure.getMessage(), failure);
        }
        if (len == 0) {
            return 0;
        }
        while (current == null || pos == current.length()) {
            if (current != null) {
                freePlain.add(current.plain());
                freeCompressed.add(current.compressed());
                current = null;
            }
            readAhead();
            Future<Frame> next = ahead.poll();
            if (next == null) {
                stopThreads();
                return -1;
            }
            try {
                current = await(next);
            } catch (IOException | RuntimeException | Error e) {
                failure = e;
                ahead.forEach(f -> f.cancel(true));
                ahead.clear();
                stopThreads();
                throw e;
            }
            pos = 0;
        }
        int n = Math.min(len, current.length() - pos);
        current.plain().get(pos, b, off, n);
        pos += n;
        return n;
    }

    @Override
    public int available() {
        return current == null ? 0 : current.length() - pos;
    }

    private Frame await(Future<Frame> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a zstd decode thread");
        } catch (ExecutionException e) {
            Throwable t = e.getCause();
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
    }

    /** Reads records and frames until {@code threads + 1} frames are queued or the input is done. */
    private void readAhead() {
        while (!inputDone && ahead.size() <= threads) {
            try {
                Future<Frame> f = next();
                if (f != null) {
                    ahead.add(f);
                }
            } catch (IOException | RuntimeException e) {
                // queued behind the frames before it, so their bytes come out first
                inputDone = true;
                ahead.add(CompletableFuture.failedFuture(e));
            }
        }
    }

    /** The next frame's decoding, or null after a correct end record. */
    private Future<Frame> next() throws IOException {
        long at = offset;
        int n = in.readNBytes(record, 0, ZstdFrames.RECORD);
        offset += n;
        if (n == 0) {
            throw new IOException("framed zstd: the stream ends after frame " + (frames - 1) + " at offset " + at
                    + " without its end record (truncated at a frame boundary)");
        }
        if (n < 8) {
            throw new IOException("framed zstd: the stream ends inside a record header at offset " + at + " (truncated)");
        }
        int magic = ZstdFrames.getInt(record, 0);
        int size = ZstdFrames.getInt(record, 4);
        if ((magic != ZstdFrames.FRAME_MAGIC && magic != ZstdFrames.END_MAGIC) || size != ZstdFrames.PAYLOAD) {
            throw new IOException(String.format("framed zstd: offset %d holds magic 0x%08x length %d, expected a frame"
                    + " record (0x%08x) or the end record (0x%08x) of length %d (damaged, or not a framed stream)",
                    at, magic, size, ZstdFrames.FRAME_MAGIC, ZstdFrames.END_MAGIC, ZstdFrames.PAYLOAD));
        }
        if (n < ZstdFrames.RECORD) {
            throw new IOException("framed zstd: the stream ends inside the record at offset " + at + " (truncated)");
        }
        if (magic == ZstdFrames.END_MAGIC) {
            checkEnd(at);
            return null;
        }
        int number = ZstdFrames.getInt(record, 8);
        int compressed = ZstdFrames.getInt(record, 12);
        int plain = ZstdFrames.getInt(record, 16);
        int checksum = ZstdFrames.getInt(record, 20);
        if (number != frames) {
            throw new IOException("framed zstd: the frame at offset " + at + " is numbered " + Integer.toUnsignedString(number)
                    + ", expected " + frames + " (frames reordered, dropped or damaged)");
        }
        if (plain < 1 || plain > frameSize || compressed < 4 || compressed > bound) {
            throw new IOException("framed zstd: the record of frame " + number + " at offset " + at + " gives "
                    + Integer.toUnsignedString(plain) + " plaintext and " + Integer.toUnsignedString(compressed)
                    + " compressed bytes, allowed 1.." + frameSize + " and 4.." + bound + " (damaged)");
        }
        // sized to what frames need, not to zstd's bound: compressible data keeps far less in flight
        // (growing to the largest frame seen, so that reused buffers fit and few are dropped)
        compressedSize = Math.min(bound, Math.max(compressedSize, (compressed + 0xffff) & ~0xffff));
        ByteBuffer c = take(freeCompressed, compressed, compressedSize);
        int got = 0;
        while (got < compressed) {
            int k = in.readNBytes(scratch, 0, Math.min(scratch.length, compressed - got));
            c.put(got, scratch, 0, k);
            got += k;
            if (k == 0) {
                break;
            }
        }
        offset += got;
        if (got < compressed) {
            throw new IOException("framed zstd: frame " + number + " at offset " + (at + ZstdFrames.RECORD) + " is truncated: "
                    + got + " of its " + compressed + " bytes present");
        }
        if (c.order(ByteOrder.LITTLE_ENDIAN).getInt(compressed - 4) != checksum) {
            throw new IOException("framed zstd: frame " + number + " at offset " + (at + ZstdFrames.RECORD)
                    + " does not end with the checksum its record names (frames swapped or damaged)");
        }
        frames++;
        total += plain;
        ByteBuffer p = take(freePlain, plain, plain);
        long frameAt = at + ZstdFrames.RECORD;
        if (pool == null) {
            pool = ZstdFrames.pool(threads, "decode", threadFactory);
        }
        return pool.submit(() -> decode(number, frameAt, c, compressed, p, plain));
    }

    private Frame decode(int number, long at, ByteBuffer c, int compressed, ByteBuffer p, int plain) throws IOException {
        ZstdDecompressCtx ctx = contexts.poll();
        if (ctx == null) {
            ctx = new ZstdDecompressCtx();
        }
        try {
            // one call per frame: zstd checks the frame's content size and content checksum
            int n = ctx.decompressDirectByteBuffer(p, 0, plain, c, 0, compressed);
            if (n != plain) {
                throw new IOException("framed zstd: frame " + number + " at offset " + at + " decodes to " + n
                        + " bytes, its record says " + plain + " (damaged)");
            }
            return new Frame(p, plain, c);
        } catch (ZstdException e) {
            throw new IOException("framed zstd: frame " + number + " at offset " + at + " is damaged: " + e.getMessage(), e);
        } finally {
            contexts.add(ctx);
        }
    }

    private void checkEnd(long at) throws IOException {
        long endTotal = (ZstdFrames.getInt(record, 8) & 0xffffffffL) | (long) ZstdFrames.getInt(record, 12) << 32;
        int endFrames = ZstdFrames.getInt(record, 16);
        int endFrameSize = ZstdFrames.getInt(record, 20);
        if (endTotal != total || endFrames != frames || endFrameSize != frameSize) {
            throw new IOException("framed zstd: the end record at offset " + at + " says " + Integer.toUnsignedString(endFrames)
                    + " frames of at most " + Integer.toUnsignedString(endFrameSize) + " bytes, " + endTotal
                    + " bytes in all; the stream had " + frames + " frames of at most " + frameSize + ", " + total
                    + " bytes (frames dropped or damaged)");
        }
        inputDone = true;
        if (in.read() >= 0) {
            throw new IOException("framed zstd: data follows the end record at offset " + (at + ZstdFrames.RECORD));
        }
    }

    private static ByteBuffer take(ArrayDeque<ByteBuffer> free, int need, int size) {
        ByteBuffer b = free.poll();
        return b != null && b.capacity() >= need ? b : ByteBuffer.allocateDirect(size);
    }

    private void stopThreads() {
        if (pool != null) {
            ZstdFrames.stop(pool);
            pool = null;
        }
        ZstdDecompressCtx c;
        while ((c = contexts.poll()) != null) {
            c.close();
        }
    }

    /** Stops the decode threads (waiting for them) and closes the input. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        ahead.forEach(f -> f.cancel(true));
        ahead.clear();
        stopThreads();
        in.close();
    }
}
