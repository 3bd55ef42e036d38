package dev.backstop.postgres.internal;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.stream.BulkInputStream;
import dev.backstop.core.internal.stream.Chunk;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fingerprints the tables in a pg_dump custom-format archive (uncompressed, UTF8) while the archive
 * streams past: the capture thread {@link #write}s each piece it passes on, the tap copies it into
 * one of a fixed pool of buffers and queues it for one hashing thread, which parses the archive
 * ({@link CustomDump}) and runs each TABLE DATA block's COPY text through a {@link CopyLineHash}.
 * The stream is never read twice and memory is bounded by the pool: when hashing falls behind,
 * {@link #write} waits for a free buffer.
 *
 * <p>When the archive cannot be hashed (another format, compressed data, another encoding, data
 * as INSERT statements, a corrupt archive) the hashing thread stops, {@link #write} stops copying,
 * and {@link #finish} throws saying why, so the caller can fingerprint another way; the capture
 * itself is never disturbed. {@link #close()} stops the thread if {@link #finish} was not reached.
 * One writing thread.
 */
public final class CopyHashTap implements AutoCloseable {
    /** Lines and line-hash sum of one table's COPY data (see {@link CopyLineHash}). */
    public record Table(long rows, long sum) {
    }

    /** A sequence's position as the archive's SEQUENCE SET entry restores it. */
    public record SequencePosition(String lastValue, boolean isCalled) {
    }

    private static final Pattern SETVAL = Pattern.compile(",\\s*(-?\\d+),\\s*(true|false)\\);\\s*$");


    private static final Chunk END = new Chunk(new byte[0], 0);

    private final int bufferSize;
    private final int buffers;
    private final BlockingQueue<Chunk> full;
    private final BlockingQueue<byte[]> free;
    private final Thread thread;
    private final Map<String, Table> tables = new LinkedHashMap<>();
    private final Map<String, SequencePosition> sequences = new LinkedHashMap<>();
    private volatile Throwable failure;
    private int allocated;
    private byte[] current;
    private int filled;
    private boolean finished;

    /** Starts the hashing thread; at most {@code buffers} buffers of {@code bufferSize} bytes are ever allocated. */
    public CopyHashTap(int bufferSize, int buffers, String name) {
        if (bufferSize < 1 || buffers < 2) {
            throw new IllegalArgumentException("bufferSize/buffers: got " + bufferSize + "/" + buffers + ", need >= 1 and >= 2");
        }
        this.bufferSize = bufferSize;
        this.buffers = buffers;
        this.full = new ArrayBlockingQueue<>(buffers + 1);
        this.free = new ArrayBlockingQueue<>(buffers);
        this.thread = DaemonThreads.named("backstop-copyhash-" + name).start(this::run);
    }

    /** Hands a copy of {@code len} bytes of {@code b} to the hashing thread; a no-op once hashing failed. */
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0 && failure == null) {
            if (current == null) {
                current = takeFree();
                filled = 0;
            }
            int n = Math.min(len, current.length - filled);
            System.arraycopy(b, off, current, filled, n);
            filled += n;
            off += n;
            len -= n;
            if (filled == current.length) {
                handOver();
            }
        }
    }

    /**
     * Marks the end of the archive and waits for the hashing thread: the tables of the archive's
     * TABLE DATA entries, keyed {@code namespace.tag} (unquoted) in archive order. Throws an
     * IOException saying why, if the archive could not be hashed.
     */
    public Map<String, Table> finish() throws IOException {
        if (finished) {
            throw new IllegalStateException("finish() was already called");
        }
        finished = true;
        try {
            if (current != null && filled > 0 && failure == null) {
                handOver();
            }
            full.put(END);
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new InterruptedIOException("interrupted while hashing the dump's COPY data");
        }
        Throwable f = failure;
        if (f != null) {
            throw new IOException("could not hash the dump's COPY data: " + f.getMessage(), f);
        }
        return Map.copyOf(tables);
    }

    /**
     * After {@link #finish} returned: the positions the archive sets its sequences to, keyed
     * {@code namespace.tag} (unquoted), read from its SEQUENCE SET entries. pg_dump reads a
     * sequence's position when it dumps it, not in the snapshot, so these, not a read of the
     * server at another moment, are what a restore holds.
     */
    public Map<String, SequencePosition> sequences() {
        if (!finished) {
            throw new IllegalStateException("sequences() needs finish() first");
        }
        return Map.copyOf(sequences);
    }

    /** Stops the hashing thread if it still runs; idempotent. */
    @Override
    public void close() {
        if (thread.isAlive()) {
            thread.interrupt();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private byte[] takeFree() throws InterruptedIOException {
        byte[] b = free.poll();
        if (b != null) {
            return b;
        }
        if (allocated < buffers) {
            allocated++;
            return new byte[bufferSize];
        }
        try {
            return free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the dump's hashing thread");
        }
    }

    private void handOver() throws InterruptedIOException {
        try {
            full.put(new Chunk(current, filled));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while handing the dump to its hashing thread");
        }
        current = null;
        filled = 0;
    }

    private void run() {
        QueueInput in = new QueueInput();
        try {
            hash(in);
            if (in.chunk == END) {
                return;
            }
            failure = new CustomDump.Unsupported("the archive goes on after its last data block");
        } catch (InterruptedIOException e) {
            failure = e;
            return;
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
        }
        if (in.chunk == END) {
            return;
        }
        // give every further buffer straight back, so the capture never waits on a tap that gave up
        try {
            for (Chunk c = full.take(); c != END; c = full.take()) {
                free.offer(c.data);
            }
        } catch (InterruptedException ignored) {
            // closing
        }
    }

    private void hash(InputStream in) throws IOException {
        CustomDump dump = CustomDump.read(in);
        if (!dump.uncompressed()) {
            throw new CustomDump.Unsupported("the archive's data is compressed");
        }
        String encoding = dump.encoding();
        if (!"UTF8".equals(encoding)) {
            throw new CustomDump.Unsupported("the archive's encoding is " + encoding + ", not UTF8");
        }
        for (CustomDump.Entry e : dump.entries()) {
            if ("SEQUENCE SET".equals(e.desc()) && e.defn() != null) {
                Matcher m = SETVAL.matcher(e.defn());
                if (m.find()) {
                    sequences.put(e.namespace() + "." + e.tag(), new SequencePosition(m.group(1), Boolean.parseBoolean(m.group(2))));
                }
            }
        }
        OutputStream skip = OutputStream.nullOutputStream();
        for (CustomDump.Block b = dump.nextBlock(); b != null; b = dump.nextBlock()) {
            CustomDump.Entry e = b.entry();
            if (b.type() != CustomDump.BLOCK_DATA || !"TABLE DATA".equals(e.desc())) {
                b.data().transferTo(skip);
                continue;
            }
            if (e.copyStmt() == null || !e.copyStmt().startsWith("COPY ")) {
                throw new CustomDump.Unsupported("the data of " + e.namespace() + "." + e.tag() + " is not COPY text");
            }
            CopyLineHash h = new CopyLineHash();
            b.data().transferTo(h);
            h.close();
            tables.put(e.namespace() + "." + e.tag(), new Table(h.rows(), h.sum()));
        }
    }

    /** The queued buffers as one stream; each buffer goes back to the pool once read. */
    private final class QueueInput extends BulkInputStream {
        private Chunk chunk;
        private int pos;

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (chunk == null || pos == chunk.length) {
                if (chunk == END) {
                    return -1;
                }
                if (chunk != null) {
                    free.offer(chunk.data);
                }
                try {
                    chunk = full.take();
                } catch (InterruptedException e) {
                    throw new InterruptedIOException("closed");
                }
                pos = 0;
            }
            int n = Math.min(len, chunk.length - pos);
            System.arraycopy(chunk.data, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
