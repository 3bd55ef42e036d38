package dev.backstop.postgres.wal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Archives completed segments, and deltas of the segment being received, in order on a thread of
 * its own, so replication keeps reading while WAL is compressed, encrypted and stored; at most
 * {@value #MAX_PENDING} wait. At most one delta waits at a time: while storage is slower than the
 * delta interval the next delta simply covers more bytes, so a slow repository never queues up
 * small objects. After the first failure nothing more is archived: the session rethrows it and
 * reconnects, and the next session resumes from the end of the archive.
 *
 * <p>A whole segment's deltas are deleted right after the segment is archived and reported; if
 * that fails (or the process dies first) both are in the repository, readers prefer the whole
 * segment, and the next session's {@link WalArchive#deleteSupersededDeltas()} removes the deltas.
 */
final class SegmentUploader {
    private static final int MAX_PENDING = 4;
    private final WalArchive archive;
    private final ReplicationSession.Progress progress;
    private final ExecutorService executor;
    private final Semaphore room = new Semaphore(MAX_PENDING);
    private final AtomicBoolean deltaPending = new AtomicBoolean();
    private final AtomicLong durable = new AtomicLong();
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();

    /** {@code progress} hears of each segment and delta once it is stored (on the uploader's thread). */
    SegmentUploader(WalArchive archive, String name, ReplicationSession.Progress progress) {
        this.archive = archive;
        this.progress = progress;
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
                    durable.accumulateAndGet(seg.endLsn(), Math::max);
                    progress.archived(seg);
                    archive.deleteDeltas(seg);
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

    /**
     * Queues bytes {@code [from, to)} of {@code seg} (offsets in the segment) read from {@code
     * source}, unless a delta is still waiting or the queue is full: then returns false and the
     * caller tries again later with a longer range. {@code source} is closed either way.
     */
    boolean submitDelta(WalFile seg, long from, long to, FileChannel source, Instant lastCommit) throws IOException {
        if (deltaPending.get() || !room.tryAcquire()) {
            source.close();
            return false;
        }
        deltaPending.set(true);
        executor.execute(() -> {
            try (source) {
                if (failure.get() == null) {
                    long stored = archive.putDelta(seg, from, to, source, lastCommit);
                    durable.accumulateAndGet(seg.startLsn() + to, Math::max);
                    progress.archivedDelta(seg, seg.startLsn() + to, to - from, stored);
                }
            } catch (IOException e) {
                failure.compareAndSet(null, new UncheckedIOException(e));
            } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
            } finally {
                deltaPending.set(false);
                room.release();
            }
        });
        return true;
    }

    /** The end of the WAL stored (whole segments and deltas), or {@code floor} if that is later. */
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

    /** Waits for queued uploads, so a new session never archives the same segment concurrently. */
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
