package dev.backstop.cli;

import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import dev.backstop.core.lock.RepositoryLock;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A service that must run on one replica at a time, such as the binlog receiver of {@code
 * backstop run} and {@code backstop binlog stream}: it runs only while this daemon holds a lease of a {@link RepositoryLock} in the
 * repository that every replica shares.
 *
 * <p><b>How.</b> Every {@code every} (a third of the lock's TTL) a tick runs: without the lease
 * it tries to take it; a lease held by another replica means standing by, logged once at info,
 * with no failure and no alert; once taken, the service starts. With the lease the tick renews
 * it. A renewal that finds the lease taken over, or a lease that expired (the repository was
 * unreachable for a whole TTL), suspends the service and goes back to standing by. {@link
 * #close()} suspends the service and releases the lease, so another replica takes over at its
 * next tick; a replica that dies without releasing is taken over once its lease expires.
 *
 * <p><b>Guarantees.</b> The service runs only while this replica holds an unexpired lease, as of
 * its last tick; between a lease expiring unseen (this process paused for longer than two ticks)
 * and the next tick two replicas may run it, so the TTL should be far longer than any pause.
 *
 * <p><b>Threading.</b> Ticks run on the executor it is given, which {@link #close()} shuts
 * down; {@link #tick()} is synchronized and may be called directly (tests with a manual clock).
 */
final class LeasedCompanion implements Daemon.Companion {
    private static final Logger LOG = LoggerFactory.getLogger(LeasedCompanion.class);

    /** A service that can be stopped and started again while it is leased and un-leased. */
    interface Service extends Daemon.Companion {
        /** Stops the service so that {@link #start()} may run it again; must not throw. */
        void suspend();
    }

    /** What the lease says about this replica. */
    enum State { STARTING, STANDING_BY, HOLDING, CLOSED }

    private final String what;
    private final RepositoryLock lock;
    private final Service service;
    private final ScheduledExecutorService executor;
    private final Duration every;
    private final Clock clock;
    private RepositoryLock.Lease lease;
    private State state = State.STARTING;
    private ScheduledFuture<?> task;
    private RuntimeException startFailure;

    /**
     * @param what     what the log calls the service ({@code binlog stream binlog/server-1})
     * @param lock     the lock every replica uses for this service
     * @param service  started while the lease is held
     * @param executor where ticks run; shut down by {@link #close()}
     * @param clock    the lock's clock, for the expiry of a lease that could not be renewed
     */
    LeasedCompanion(String what, RepositoryLock lock, Service service, ScheduledExecutorService executor, Clock clock) {
        this.what = Objects.requireNonNull(what, "what");
        this.lock = Objects.requireNonNull(lock, "lock");
        this.service = Objects.requireNonNull(service, "service");
        this.executor = Objects.requireNonNull(executor, "executor");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.every = lock.ttl().dividedBy(3);
    }

    /** Schedules the ticks, the first at once. */
    @Override
    public synchronized void start() {
        if (task != null || state == State.CLOSED) {
            throw new IllegalStateException(what + ": " + (state == State.CLOSED ? "closed" : "started already"));
        }
        task = executor.scheduleWithFixedDelay(this::tickQuietly, 0, every.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void tickQuietly() {
        try {
            tick();
        } catch (RuntimeException e) {
            // a scheduled task that throws is never run again: the next tick tries anew
            LOG.warn("{}: lease tick failed: {}", what, e.toString());
        }
    }

    /** Takes, renews or gives up the lease and starts or suspends the service accordingly; returns the state after it. */
    synchronized State tick() {
        if (state == State.CLOSED) {
            return state;
        }
        if (lease == null) {
            acquire();
            return state;
        }
        if (!clock.instant().isBefore(lease.expiresAt())) {
            lose("the lease expired at " + lease.expiresAt() + " before it was renewed");
            return state;
        }
        try {
            lease.renew();
        } catch (BackupException e) {
            if (e.retryable() && clock.instant().isBefore(lease.expiresAt())) {
                // the repository did not answer: the lease is ours until it expires; try again next tick
                LOG.warn("{}: could not renew the lease (held until {}): {}", what, lease.expiresAt(), e.getMessage());
            } else {
                lose(e.getMessage());
            }
        }
        return state;
    }

    private void acquire() {
        RepositoryLock.Lease taken;
        try {
            taken = lock.acquire();
        } catch (BackupException e) {
            if (e.stage() != Stage.LOCK) {
                throw e;
            }
            // held by another replica (or the repository did not answer): stand by, said once
            if (state != State.STANDING_BY) {
                LOG.info("{}: standing by: {}", what, e.getMessage());
            }
            state = State.STANDING_BY;
            return;
        }
        try {
            service.start();
        } catch (RuntimeException e) {
            LOG.warn("{}: holds the lease but could not start: {}", what, e.getMessage());
            startFailure = e;
            service.suspend();
            taken.close();
            state = State.STANDING_BY;
            return;
        }
        startFailure = null;
        lease = taken;
        state = State.HOLDING;
        LOG.info("{}: holds the lease (token {}), streaming", what, taken.token());
    }

    private void lose(String why) {
        LOG.warn("{}: lost the lease, standing by: {}", what, why);
        service.suspend();
        lease = null;
        state = State.STANDING_BY;
    }

    /**
     * Why the service failed to start the last time this replica took the lease, if it did; a
     * foreground command stops on it, a daemon tries again at its next tick.
     */
    synchronized Optional<RuntimeException> startFailure() {
        return Optional.ofNullable(startFailure);
    }

    /** Where this replica stands. */
    synchronized State state() {
        return state;
    }

    /** Stops the ticks and the service and releases the lease. Idempotent; never throws. */
    @Override
    public synchronized void close() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        if (task != null) {
            task.cancel(false);
        }
        executor.shutdown();
        service.close();
        if (lease != null) {
            lease.close();
            lease = null;
        }
    }
}
