package dev.backstop.postgres.wal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Archives completed segments in order on a thread of its own, so replication keeps reading
 * while a segment is compressed, encrypted and stored; at most {@value #MAX_PENDING} wait. After
 * the first failure nothing more is archived: the session rethrows it and reconnects, and the
 * next session resumes from the end of the archive.
 */
final class SegmentUploader {
    private static final int MAX_PENDING = 4;
    private final WalArchive archive;
    private final Consumer<WalFile> archived;
    private final ExecutorService executor;
    private final Semaphore room = new Semaphore(MAX_PENDING);
    private final AtomicLong durable = new AtomicLong();
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();

    /** {@code archived} hears of each segment once it is stored (on the uploader's thread). */
    SegmentUploader(WalArchive archive, String name, Consumer<WalFile> archived) {
        this.archive = archive;
        this.archived = archived;
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "backstop-wal-upload-" + name);
            t.setDaemon(true);
            return t;
        });
    }

    void submit(Path file, WalFile seg) throws IOException {
        try {
            room.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to archive " + seg, e);
        }
        executor.execute(() -> {
            try {
                if (failure.get() == null) {
                    archive.put(file, seg.name());
                    Files.delete(file);
                    durable.set(seg.endLsn());
                    archived.accept(seg);
                }
            } catch (IOException e) {
                failure.compareAndSet(null, new UncheckedIOException(e));
            } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
            } finally {
                room.release();
            }
        });
    }

    /** The end of the last segment stored, or {@code floor} if that is later. */
    long durable(long floor) {
        return Math.max(floor, durable.get());
    }

    void rethrow() throws IOException {
        RuntimeException e = failure.get();
        if (e instanceof UncheckedIOException u) {
            throw u.getCause();
        }
        if (e != null) {
            throw e;
        }
    }

    /** Waits for queued segments, so a new session never archives the same segment concurrently. */
    void finish() throws IOException {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(10, TimeUnit.MINUTES)) {
                throw new IOException("archiving queued WAL segments took over 10 minutes");
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        rethrow();
    }
}
