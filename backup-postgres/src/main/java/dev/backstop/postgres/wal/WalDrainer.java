package dev.backstop.postgres.wal;

import dev.backstop.core.StorageException;
import dev.backstop.core.internal.concurrent.Backoff;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;

/**
 * The background half of asynchronous {@code archive-push}: uploads the spool to the archive in
 * name order, retries failures with exponential backoff, and exits after a quiet spell.
 *
 * <p><b>One at a time.</b> A drainer holds an OS lock on {@code <spool>/drainer.lock} for as long
 * as it runs; the kernel drops the lock when the process dies however it dies, so a crashed
 * drainer never blocks the next one, and a second drainer that finds the lock taken exits at once.
 * A queued file is removed only after the archive committed it, so a drainer killed mid-way
 * leaves it queued; the next one uploads it again or, if the archive already has it (killed
 * between commit and removal), finds the same content there and only removes it.
 *
 * <p><b>No lost wake-ups.</b> {@code archive-push} queues first and then starts a drainer if the
 * lock is free; an idle drainer releases the lock first and then looks at the queue once more.
 * Whichever order the two race in, a queued file is seen by a drainer.
 */
public final class WalDrainer {
    static final String LOCK_FILE = "drainer.lock";
    /** How soon a newly queued file is seen while the spool is empty. */
    private static final Duration IDLE_POLL = Duration.ofMillis(50);

    private final WalSpool spool;
    private final WalArchive archive;
    private final Duration minBackoff;
    private final Duration maxBackoff;
    private final Duration idleExit;
    private final PrintStream log;

    /** A drainer of {@code spool} into {@code archive}, backing off between the bounds, logging to {@code log}. */
    public WalDrainer(WalSpool spool, WalArchive archive, Duration minBackoff, Duration maxBackoff, Duration idleExit, PrintStream log) {
        this.spool = spool;
        this.archive = archive;
        this.minBackoff = minBackoff;
        this.maxBackoff = maxBackoff;
        this.idleExit = idleExit;
        this.log = log;
    }

    /**
     * Whether a drainer (in any process) is draining {@code spool} right now.
     *
     * @throws StorageException if the spool's lock file cannot be opened
     */
    public static boolean running(WalSpool spool) {
        try {
            return Lock.held(spool.directory(), LOCK_FILE);
        } catch (IOException e) {
            throw StorageException.of(spool.directory().resolve(LOCK_FILE).toString(), "could not check the drainer lock: " + e, e,
                    null);
        }
    }

    /** An OS-level lock on a lock file; {@code tryAcquire} gives null if another process or thread holds it. */
    static final class Lock implements AutoCloseable {
        private final FileChannel channel;
        private final FileLock lock;

        private Lock(FileChannel channel, FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }

        static Lock tryAcquire(Path spoolDir) throws IOException {
            return tryAcquire(spoolDir, LOCK_FILE);
        }

        static Lock tryAcquire(Path dir, String file) throws IOException {
            FileChannel ch = FileChannel.open(dir.resolve(file), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                FileLock l = ch.tryLock();
                if (l != null) {
                    return new Lock(ch, l);
                }
            } catch (OverlappingFileLockException e) {
                // held by another thread of this JVM
            }
            ch.close();
            return null;
        }

        /** Whether some drainer holds the lock right now. */
        static boolean held(Path dir, String file) throws IOException {
            try (Lock l = tryAcquire(dir, file)) {
                return l == null;
            }
        }

        @Override
        public void close() throws IOException {
            try {
                lock.release();
            } finally {
                channel.close();
            }
        }
    }

    /**
     * Drains until the spool stayed empty for the idle period; returns the files archived. Returns
     * 0 at once if another drainer holds the lock.
     *
     * @throws StorageException if the spool or its lock file fails (a failed upload is retried instead)
     */
    public int follow() throws InterruptedException {
        try {
            return drainUntilIdle();
        } catch (IOException e) {
            throw StorageException.of(spool.directory().toString(), "the drainer of the WAL spool failed: " + e, e, null);
        }
    }

    private int drainUntilIdle() throws IOException, InterruptedException {
        Lock lock = Lock.tryAcquire(spool.directory());
        if (lock == null) {
            log.println("backstop: another drainer holds " + spool.directory().resolve(LOCK_FILE) + "; leaving the spool to it");
            return 0;
        }
        int archived = 0;
        Backoff backoff = Backoff.builder(minBackoff, maxBackoff).jitter(0.5).build();
        int failures = 0;
        long idleSince = System.nanoTime();
        try {
            while (true) {
                List<String> queued = spool.queued();
                if (queued.isEmpty()) {
                    if (System.nanoTime() - idleSince < idleExit.toNanos()) {
                        Backoff.Pause.SLEEP.pause(IDLE_POLL);
                        continue;
                    }
                    lock.close();
                    lock = null;
                    // a push that queued while we held the lock saw it held and started no drainer: look once more
                    if (spool.queued().isEmpty() || (lock = Lock.tryAcquire(spool.directory())) == null) {
                        return archived;
                    }
                    continue;
                }
                try {
                    for (String name : queued) {
                        WalArchive.PutResult r = spool.drainOne(archive, name);
                        archived++;
                        log.println("backstop: drained " + name + " " + r.name().toLowerCase(java.util.Locale.ROOT));
                    }
                    failures = 0;
                } catch (IOException | RuntimeException e) {
                    Duration wait = backoff.delay(++failures);
                    log.println("backstop: draining failed, retrying in " + wait.toMillis() + " ms: " + e.getMessage());
                    Backoff.Pause.SLEEP.pause(wait);
                }
                idleSince = System.nanoTime();
            }
        } finally {
            if (lock != null) {
                lock.close();
            }
        }
    }
}
