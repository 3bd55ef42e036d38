package dev.backstop.core.internal.zstd;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.backstop.core.internal.stream.BulkOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;

/**
 * Cuts the plaintext into blocks of {@code frameSize} and writes each as an independent zstd frame
 * in the layout of {@link ZstdFrames}, compressed on {@code workers} threads (on the writing
 * thread if 0) and written in order by the writing thread. At most {@code workers + 2} blocks are
 * held: the one being filled and {@code workers + 1} being compressed or waiting to be written.
 *
 * <p>{@link #close()} compresses the last block, writes the end record and closes {@code out}; it
 * always stops the threads and closes {@code out}, and rethrows the first failure.
 */
public final class FramedZstdOutputStream extends BulkOutputStream {
    private final OutputStream out;
    private final int frameSize;
    private final int workers;
    private final ZstdFrames.Pool pool;
    private final BlockingQueue<ZstdCompressCtx> contexts;
    private final List<ZstdCompressCtx> allContexts = new ArrayList<>();
    private final ArrayDeque<Future<Frame>> inFlight = new ArrayDeque<>();
    private final ArrayDeque<ByteBuffer> freePlain = new ArrayDeque<>();
    private final ArrayDeque<ByteBuffer> freeCompressed = new ArrayDeque<>();
    /** Copies compressed bytes from their direct buffer to {@code out}. */
    private final byte[] scratch = new byte[64 * 1024];
    private final int bound;
    private ByteBuffer block;
    private int fill;
    private int frames;
    private long total;
    private boolean closed;
    private IOException failed;

    /**
     * One block on its way: plaintext in, compressed frame out. Direct buffers, off the Java heap
     * as zstd's own threads kept theirs: a frame per thread in flight must not crowd a small heap.
     */
    private record Frame(int number, ByteBuffer plain, int plainLength, ByteBuffer compressed, int compressedLength) {
    }

    public FramedZstdOutputStream(OutputStream out, int level, int windowLog, int frameSize, int workers, ThreadFactory threads) {
        this.out = out;
        this.frameSize = frameSize;
        this.workers = workers;
        this.bound = Math.toIntExact(Zstd.compressBound(frameSize));
        int n = Math.max(workers, 1);
        this.contexts = new ArrayBlockingQueue<>(n);
        try {
            for (int i = 0; i < n; i++) {
                ZstdCompressCtx c = new ZstdCompressCtx();
                allContexts.add(c);
                c.setLevel(level).setChecksum(true).setContentSize(true);
                if (windowLog > 0) {
                    c.setLong(windowLog);
                }
                contexts.add(c);
            }
        } catch (RuntimeException e) {
            allContexts.forEach(ZstdCompressCtx::close);
            throw e;
        }
        this.pool = workers > 0 ? ZstdFrames.pool(workers, "encode", threads) : null;
    }

    @Override
    public void write(int b) throws IOException {
        if (block != null && fill < frameSize - 1 && !closed && failed == null) {
            block.put(fill++, (byte) b);
            return;
        }
        super.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("stream closed");
        }
        if (failed != null) {
            throw new IOException("an earlier frame failed: " + failed.getMessage(), failed);
        }
        while (len > 0) {
            if (block == null) {
                block = take(freePlain, frameSize);
            }
            int n = Math.min(len, frameSize - fill);
            block.put(fill, b, off, n);
            fill += n;
            off += n;
            len -= n;
            if (fill == frameSize) {
                try {
                    cut();
                } catch (IOException e) {
                    // no end record will follow: the object stays visibly incomplete
                    failed = e;
                    throw e;
                }
            }
        }
    }

    /**
     * Waits for the frames being compressed and writes them; the block being filled stays open, so
     * every frame but the last stays full.
     */
    @Override
    public void flush() throws IOException {
        if (closed) {
            throw new IOException("stream closed");
        }
        while (!inFlight.isEmpty()) {
            writeOldest();
        }
        out.flush();
    }

    private void cut() throws IOException {
        Frame f = new Frame(frames++, block, fill, take(freeCompressed, bound), 0);
        total += fill;
        block = null;
        fill = 0;
        if (pool == null) {
            writeFrame(compress(f));
            return;
        }
        while (inFlight.size() > workers) {
            writeOldest();
        }
        inFlight.add(pool.submit(() -> compress(f)));
    }

    private Frame compress(Frame f) throws IOException {
        ZstdCompressCtx c = contexts.poll();
        try {
            int n = c.compressDirectByteBuffer(f.compressed(), 0, f.compressed().capacity(), f.plain(), 0, f.plainLength());
            return new Frame(f.number(), f.plain(), f.plainLength(), f.compressed(), n);
        } catch (ZstdException e) {
            throw new IOException("zstd could not compress frame " + f.number() + ": " + e.getMessage(), e);
        } finally {
            contexts.add(c);
        }
    }

    private void writeOldest() throws IOException {
        Future<Frame> next = inFlight.poll();
        try {
            writeFrame(next.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a zstd frame");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException("zstd compression failed: " + e.getCause(), e.getCause());
        }
    }

    private void writeFrame(Frame f) throws IOException {
        ByteBuffer c = f.compressed();
        int n = f.compressedLength();
        out.write(ZstdFrames.frameRecord(f.number(), n, f.plainLength(), c.order(ByteOrder.LITTLE_ENDIAN).getInt(n - 4)));
        for (int off = 0; off < n; off += scratch.length) {
            int k = Math.min(scratch.length, n - off);
            c.get(off, scratch, 0, k);
            out.write(scratch, 0, k);
        }
        freePlain.add(f.plain());
        freeCompressed.add(c);
    }

    private static ByteBuffer take(ArrayDeque<ByteBuffer> free, int size) {
        ByteBuffer b = free.poll();
        return b != null ? b : ByteBuffer.allocateDirect(size);
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        // a failure already thrown from write is not thrown again (try-with-resources would
        // suppress it into itself); without it, close finishes the stream
        IOException first = null;
        try {
            if (failed == null) {
                if (fill > 0) {
                    cut();
                }
                while (!inFlight.isEmpty()) {
                    writeOldest();
                }
                out.write(ZstdFrames.endRecord(total, frames, frameSize));
            }
        } catch (IOException | RuntimeException e) {
            first = e instanceof IOException io ? io : new IOException(e);
        } finally {
            if (pool != null) {
                ZstdFrames.stop(pool);
            }
            allContexts.forEach(ZstdCompressCtx::close);
            try {
                out.close();
            } catch (IOException | RuntimeException e) {
                if (first == null) {
                    first = e instanceof IOException io ? io : new IOException(e);
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
