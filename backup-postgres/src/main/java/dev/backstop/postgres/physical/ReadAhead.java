package dev.backstop.postgres.physical;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Reads a stream on a thread of its own, up to {@code depth} chunks ahead, so that verifying,
 * decrypting and decompressing a base backup runs on one core while the caller writes files on
 * another. Memory is bounded by {@code depth × chunk}. A failure of the source (for example a
 * digest mismatch found at its end) is rethrown to the reader at the same point in the stream;
 * closing stops the thread and closes the source.
 */
final class ReadAhead extends InputStream {
    private static final byte[] END = new byte[0];

    private final InputStream source;
    private final BlockingQueue<byte[]> queue;
    private final Thread thread;
    private volatile Throwable failure;
    private volatile boolean closed;
    private byte[] current = new byte[0];
    private int pos;
    private boolean ended;

    ReadAhead(InputStream source, int chunk, int depth) {
        this.source = source;
        this.queue = new ArrayBlockingQueue<>(depth);
        this.thread = new Thread(() -> fill(chunk), "backstop-restore-read-ahead");
        thread.setDaemon(true);
        thread.start();
    }

    private void fill(int chunk) {
        try {
            while (!closed) {
                byte[] b = source.readNBytes(chunk);
                if (b.length == 0) {
                    break;
                }
                queue.put(b);
            }
        } catch (InterruptedException e) {
            return;
        } catch (Throwable t) {
            failure = t;
        }
        try {
            queue.put(END);
        } catch (InterruptedException ignored) {
            // closed while ending: nobody reads any more
        }
    }

    private boolean next() throws IOException {
        if (ended) {
            return false;
        }
        try {
            current = queue.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading the base backup");
        }
        pos = 0;
        if (current == END) {
            ended = true;
            Throwable t = failure;
            if (t instanceof IOException io) {
                throw io;
            }
            if (t instanceof RuntimeException re) {
                throw re;
            }
            if (t instanceof Error er) {
                throw er;
            }
            return false;
        }
        return true;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (pos == current.length) {
            if (!next()) {
                return -1;
            }
        }
        int n = Math.min(len, current.length - pos);
        System.arraycopy(current, pos, b, off, n);
        pos += n;
        return n;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        queue.clear();
        Arrays.fill(current, (byte) 0);
        source.close();
    }
}
