package dev.backstop.postgres.wal;

import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.postgres.internal.RoleThreads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Archives WAL on threads of its own, so replication keeps reading while WAL is compressed,
 * encrypted and stored. After the first failure nothing more is archived: the session rethrows it
 * and reconnects, and the next session resumes from the end of the archive.
 *
 * <p><b>Whole segments only</b> (no delta interval): completed segments are archived in order on
 * one thread, at most {@value #MAX_PENDING} waiting; the archive is durable up to the last one.
 *
 * <p><b>With deltas</b>, durability comes from the deltas alone, archived in order on a thread of
 * their own: the new bytes of the segment being received at each interval, and its tail the moment
 * it completes. At most one interval delta waits at a time: while storage is slower than the
 * interval the next delta simply covers more bytes, so a slow repository never queues up small
 * objects. The whole segment is archived on a second thread as a consolidation, so its 16 MiB never
 * hold up the next segment's deltas; once it is stored (and its tail delta too) its deltas are
 * deleted. If that fails or the process dies first, both are in the repository, readers prefer
 * the whole segment, and the next session's {@link WalArchive#deleteSupersededDeltas()} removes them.
 */
final class SegmentUploader {
    private static final int MAX_PENDING = 4;
    private final WalArchive archive;
    private final ReplicationSession.Progress progress;
    private final boolean withDeltas;
    private final ExecutorService wholes;
    private final ExecutorService deltas;
    private final Semaphore room = new Semaphore(MAX_PENDING);
    private final AtomicBoolean deltaPending = new AtomicBoolean();
    private final AtomicLong durable = new AtomicLong();
    private final AtomicReference<RuntimeException> failure = new AtomicReference<>();

    /** {@code progress} hears of each segment and delta once it is stored (on the uploader's threads). */
    SegmentUploader(WalArchive archive, String name, boolean withDeltas, ReplicationSession.Progress progress,
            RoleThreads threads) {
        this.archive = archive;
        this.progress = progress;
        this.withDeltas = withDeltas;
        this.wholes = Executors.newSingleThreadExecutor(threads.named("backstop-wal-upload-" + name));
        this.deltas = withDeltas ? Executors.newSingleThreadExecutor(threads.named("backstop-wal-delta-" + name)) : null;
    }

    /**
     * Queues the completed segment {@code file}; with deltas, its bytes from offset {@code
     * tailFrom} on go out as a final delta first ({@code lastCommit}: the last commit in it).
     */
    void submit(Path file, WalFile seg, long tailFrom, Instant lastCommit) throws IOException {
        try {
            room.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to archive " + seg, e);
        }
        CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
        if (withDeltas && tailFrom < WalFile.SEGMENT_BYTES) {
            FileChannel source = FileChannel.open(file, StandardOpenOption.READ);
            tail = CompletableFuture.runAsync(LogContext.propagate(() -> delta(seg, tailFrom, WalFile.SEGMENT_BYTES, source, lastCommit)),
                    deltas);
        }
        CompletableFuture<Void> tailDone = tail;
        // the receiver's MDC goes along: what the upload threads log belongs to its stream
        wholes.execute(LogContext.propagate(() -> {
            try {
                if (failure.get() == null) {
                    archive.put(file, seg.name());
                    Files.delete(file);
                    // deltas are stored in order: once this segment's tail is, everything before its end is
                    tailDone.join();
                    if (failure.get() == null) {
                        durable.accumulateAndGet(seg.endLsn(), Math::max);
                        progress.archived(seg);
                        if (withDeltas) {
                            archive.deleteDeltas(seg);
                        }
                    }
                }
            } catch (IOException e) {
                failure.compareAndSet(null, new UncheckedIOException(e));
            } catch (RuntimeException e) {
                failure.compareAndSet(null, e);
            } finally {
                room.release();
            }
        }));
    }

    /**
     * Queues bytes {@code [from, to)} of {@code seg} (offsets in the segment) read from {@code
     * source}, unless a delta is still waiting: then returns false and the caller tries again
     * later with a longer range. {@code source} is closed either way.
     */
    boolean submitDelta(WalFile seg, long from, long to, FileChannel source, Instant lastCommit) throws IOException {
        if (!deltaPending.compareAndSet(false, true)) {
            source.close();
            return false;
        }
        deltas.execute(LogContext.propagate(() -> {
            try {
                delta(seg, from, to, source, lastCommit);
            } finally {
                deltaPending.set(false);
            }
        }));
        return true;
    }

    private void delta(WalFile seg, long from, long to, FileChannel source, Instant lastCommit) {
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
        }
    }

    /** The end of the WAL durably stored without a gap, or {@code floor} if that is later. */
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
        if (deltas != null) {
            deltas.shutdown();
        }
        wholes.shutdown();
        try {
            if ((deltas != null && !deltas.awaitTermination(10, TimeUnit.MINUTES)) || !wholes.awaitTermination(10, TimeUnit.MINUTES)) {
                throw new IOException("archiving queued WAL took over 10 minutes");
            }
        } catch (InterruptedException e) {
            if (deltas != null) {
                deltas.shutdownNow();
            }
            wholes.shutdownNow();
            Thread.currentThread().interrupt();
        }
        rethrow();
    }
}
