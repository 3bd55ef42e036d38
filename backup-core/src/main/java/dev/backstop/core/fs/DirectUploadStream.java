package dev.backstop.core.fs;

import dev.backstop.core.internal.stream.BulkOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * The bytes of a {@link FileSystemSink} upload. Objects that outgrow one buffer ({@link
 * #BUFFER_BYTES}) are written with direct I/O ({@code O_DIRECT}) where the file system takes it:
 * from an aligned buffer to the disk, without the copy into fresh page-cache pages that costs
 * more CPU than compressing on virtual machines, and with nothing left for the commit's fsync to
 * write back. Smaller objects
 * (manifests, keys, catalogs) and file systems that refuse {@code O_DIRECT} get ordinary writes.
 *
 * <p>Direct writes cover whole blocks, so the object's last, partial block is written padded with
 * zeros when the stream is finished and the file is then cut to its length. Buffers come from the
 * sink's small {@link Buffers} pool and go back to it on {@link #release()}: many uploads in a row
 * (WAL segments) do not pile up native memory for the collector to find.
 *
 * <p>Single writer. {@link #finish()} writes what is buffered; the channel and the file belong
 * to the upload, which forces, publishes or deletes them.
 */
final class DirectUploadStream extends BulkOutputStream {
    static final int BUFFER_BYTES = 1 << 20;
    /** Pool buffers start on this boundary, a multiple of every block size direct I/O is tried with. */
    private static final int ALIGN = 64 * 1024;
    private final FileChannel channel;
    private final Path file;
    private final Buffers buffers;
    private final int block;
    private ByteBuffer buffer;
    private FileChannel direct;
    private boolean directRefused;
    private long written;
    private boolean finished;
    /** The first failed write: every later write and finish fails with it, so a torn file is never finished. */
    private IOException failure;

    /**
     * Writes to {@code channel}, an open, empty, writable channel on {@code file}; {@code block}
     * is the file system's block size, to which direct writes are aligned, or 0 for no direct I/O;
     * the buffer comes from {@code buffers}.
     */
    DirectUploadStream(FileChannel channel, Path file, int block, Buffers buffers) {
        this.channel = Objects.requireNonNull(channel, "channel");
        this.file = Objects.requireNonNull(file, "file");
        this.buffers = Objects.requireNonNull(buffers, "buffers");
        this.block = usableBlock(block);
    }

    /** {@code block} if direct I/O can be aligned to it, else 0. */
    static int usableBlock(long block) {
        return block > 0 && block <= ALIGN && ALIGN % block == 0 ? (int) block : 0;
    }

    /** Whether the object's bytes went to the disk with direct I/O. */
    boolean direct() {
        return direct != null;
    }

    /** Finishes the bytes (see {@link #finish()}); the upload forces and publishes or deletes the file. */
    @Override
    public void close() throws IOException {
        finish();
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (failure != null) {
            throw new IOException("an earlier write to " + file + " failed: " + failure.getMessage(), failure);
        }
        if (finished) {
            throw new IOException("upload stream of " + file + " is finished");
        }
        if (buffer == null) {
            buffer = buffers.take();
        }
        while (len > 0) {
            int n = Math.min(len, buffer.remaining());
            buffer.put(b, off, n);
            off += n;
            len -= n;
            if (!buffer.hasRemaining()) {
                drain();
            }
        }
    }

    /** Writes what is buffered and cuts the file to the bytes given; idempotent. Does not force. */
    void finish() throws IOException {
        if (failure != null) {
            throw new IOException("an earlier write to " + file + " failed: " + failure.getMessage(), failure);
        }
        if (finished) {
            return;
        }
        try {
            if (buffer != null && buffer.position() > 0) {
                writeBuffer(true);
            }
            if (direct != null) {
                direct.close();
                if (channel.size() != written) {
                    channel.truncate(written);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw failed(e);
        }
        finished = true;
    }

    /** Returns the buffer to the pool and closes the direct channel, if any; the upload closes its own channel. */
    void release() {
        if (direct != null) {
            try {
                direct.close();
            } catch (IOException ignored) {
                // the upload closes or deletes the file next
            }
        }
        if (buffer != null) {
            buffers.give(buffer);
            buffer = null;
        }
    }

    private void drain() throws IOException {
        try {
            writeBuffer(false);
        } catch (IOException | RuntimeException e) {
            throw failed(e);
        }
    }

    private IOException failed(Exception e) {
        failure = e instanceof IOException io ? io : new IOException("writing " + file + " failed: " + e, e);
        return failure;
    }

    private void writeBuffer(boolean last) throws IOException {
        int n = buffer.position();
        if (direct == null && !directRefused && block > 0 && !last && written == 0) {
            direct = openDirect();
        }
        FileChannel ch = direct != null ? direct : channel;
        if (direct != null && n % block != 0) {
            buffer.put(new byte[(n / block + 1) * block - n]);
        }
        buffer.flip();
        long pos = written;
        while (buffer.hasRemaining()) {
            pos += ch.write(buffer, pos);
        }
        written += n;
        buffer.clear();
    }

    private FileChannel openDirect() {
        try {
            return FileChannel.open(file, new OpenOption[] {StandardOpenOption.WRITE, directOption()});
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException refused) {
            // EINVAL from a file system without O_DIRECT: ordinary writes, as for small objects
            directRefused = true;
            return null;
        }
    }

    private static OpenOption directOption() {
        return com.sun.nio.file.ExtendedOpenOption.DIRECT;
    }

    /**
     * Aligned direct buffers kept for reuse by one sink; at most four wait in it, the rest are left to
     * the collector. Thread-safe.
     */
    static final class Buffers {
        private final BlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(4);

        ByteBuffer take() {
            ByteBuffer b = free.poll();
            return b != null ? b : ByteBuffer.allocateDirect(BUFFER_BYTES + ALIGN).alignedSlice(ALIGN).slice(0, BUFFER_BYTES);
        }

        void give(ByteBuffer b) {
            free.offer(b.clear());
        }
    }
}
