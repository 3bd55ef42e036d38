package dev.backstop.core.internal.lock;

import dev.backstop.core.BackupException;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.internal.concurrent.LogContext;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Keeps a repository lease alive while a long capture runs, on its own thread, and hands the
 * lease back for a final check before anything is published. A lease is single-threaded: the
 * keeper is the only user until {@link #stopAndCheck()} returns.
 */
public final class LeaseKeeper {
    private final RepositoryLock.Lease lease;
    private final long intervalMillis;
    private final CountDownLatch stop = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile BackupException failure;

    private LeaseKeeper(RepositoryLock.Lease lease, Duration interval) {
        this.lease = lease;
        this.intervalMillis = Math.max(10, interval.toMillis());
    }

    public static LeaseKeeper start(RepositoryLock.Lease lease, Duration ttl, Executor executor) {
        LeaseKeeper k = new LeaseKeeper(lease, ttl.dividedBy(3));
        executor.execute(LogContext.propagate(k::loop));
        return k;
    }

    private void loop() {
        try {
            while (!stop.await(intervalMillis, TimeUnit.MILLISECONDS)) {
                lease.ensureHeld();
            }
        } catch (BackupException e) {
            failure = e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopped.countDown();
        }
    }

    /** Stops renewing and checks the lease is still held; throws if it was lost at any point. */
    public void stopAndCheck() {
        stopQuietly();
        if (failure != null) {
            throw failure;
        }
        lease.ensureHeld();
    }

    public void stopQuietly() {
        stop.countDown();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
