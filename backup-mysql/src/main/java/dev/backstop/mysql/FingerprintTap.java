package dev.backstop.mysql;

import dev.backstop.core.TableFingerprint;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;

/**
 * Hands copies of the dump's bytes to {@link DumpRows} on an executor thread, so that parsing and
 * hashing rows does not slow the thread that feeds the dump to the pipeline. Memory is bounded:
 * at most {@code depth} chunks are in flight, and {@link #write} waits for a free one, so a slow
 * parser slows the dump rather than filling the heap.
 *
 * <p><b>Threading.</b> One thread calls {@link #write}, then {@link #finish()} or {@link
 * #cancel()}; the parser runs on one executor task.
 */
final class FingerprintTap {
    private static final Chunk END = new Chunk(0);

    private final BlockingQueue<Chunk> full;
    private final BlockingQueue<Chunk> free;
    private final CompletableFuture<Map<String, TableFingerprint>> result = new CompletableFuture<>();
    private volatile boolean cancelled;
    private Chunk current;

    FingerprintTap(Executor executor, int chunkSize, int depth) {
        this.full = new ArrayBlockingQueue<>(depth + 1);
        this.free = new ArrayBlockingQueue<>(depth);
        for (int i = 0; i < depth; i++) {
            free.add(new Chunk(chunkSize));
        }
        executor.execute(this::parse);
    }

    private void parse() {
        DumpRows rows = new DumpRows();
        try {
            while (true) {
                Chunk chunk = full.take();
                if (chunk == END) {
                    if (!cancelled) {
                        result.complete(rows.finish());
                    }
                    return;
                }
                if (!cancelled) {
                    rows.write(chunk.data, 0, chunk.length);
                }
                free.add(chunk);
            }
        } catch (IOException | RuntimeException e) {
            result.completeExceptionally(e);
            drain();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            result.completeExceptionally(e);
        }
    }

    /** After a parse failure, keeps taking chunks so that the writer never waits for a free one. */
    private void drain() {
        try {
            while (true) {
                Chunk chunk = full.take();
                if (chunk == END) {
                    return;
                }
                free.add(chunk);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Copies {@code b[off..off+len)} for the parser, handing over only full chunks (each hand-off
     * may wake a thread, which on a busy machine takes long); waits while every chunk is in flight.
     */
    void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            if (result.isCompletedExceptionally()) {
                // the parse already failed: finish() reports why, the dump itself goes on undisturbed
                return;
            }
            if (current == null) {
                current = take();
                current.length = 0;
            }
            int n = Math.min(len, current.data.length - current.length);
            System.arraycopy(b, off, current.data, current.length, n);
            current.length += n;
            off += n;
            len -= n;
            if (current.length == current.data.length) {
                put(current);
                current = null;
            }
        }
    }

    /** Waits for the parser to read everything written; returns every table's fingerprint or throws why it could not. */
    Map<String, TableFingerprint> finish() throws IOException {
        if (current != null && current.length > 0 && !result.isCompletedExceptionally()) {
            put(current);
        }
        current = null;
        put(END);
        try {
            return result.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw new IOException("could not fingerprint the rows of the dump: " + cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while fingerprinting the dump");
        }
    }

    /** Stops the parser without a result; it ends once it takes the end marker. */
    void cancel() {
        cancelled = true;
        full.offer(END);
    }

    private Chunk take() throws IOException {
        try {
            return free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while handing the dump to its fingerprints");
        }
    }

    private void put(Chunk chunk) throws IOException {
        try {
            full.put(chunk);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while handing the dump to its fingerprints");
        }
    }

    /** A buffer and how much of it holds bytes; owned by one thread at a time, passed through the queues. */
    private static final class Chunk {
        final byte[] data;
        int length;

        Chunk(int size) {
            this.data = new byte[size];
        }
    }
}
