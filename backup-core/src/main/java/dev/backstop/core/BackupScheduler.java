package dev.backstop.core;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link BackupPipeline} on a {@link Schedule} inside a service, retries failures that may
 * pass on a second try, and validates each new backup.
 *
 * <p><b>Guarantees.</b> Runs never overlap: a tick that comes while a backup is running is
 * skipped and counted. Only {@linkplain BackupException#retryable() retryable} failures are
 * retried, with exponential backoff and jitter, up to the configured attempts; the pipeline's
 * listeners hear a retried attempt as {@link BackupListener#backupAttemptFailed} and only the last
 * failure as {@link BackupListener#backupFailed}, so alerts fire once per failed run. After a success,
 * each validator runs and its result is appended to the repository as a validation record. Missed
 * ticks (the service was down) are not made up: the next run is the next tick from now.
 *
 * <p><b>Threading.</b> Uses the executor it is given and never shuts it down. {@link #close()}
 * cancels future runs and waits for none.
 */
public final class BackupScheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BackupScheduler.class);

    private final BackupPipeline pipeline;
    private final Schedule schedule;
    private final ScheduledExecutorService executor;
    private final Clock clock;
    private final int maxAttempts;
    private final Duration initialBackoff;
    private final Restore restore;
    private final List<Validator> validators;
    private final BackupListener listener;
    private final AtomicBoolean running = new AtomicBoolean();
    private final AtomicLong skipped = new AtomicLong();
    private volatile ScheduledFuture<?> nextRun;
    private volatile boolean closed;

    private BackupScheduler(Builder b) {
        this.pipeline = b.pipeline;
        this.schedule = b.schedule;
        this.executor = b.executor;
        this.clock = b.clock;
        this.maxAttempts = b.maxAttempts;
        this.initialBackoff = b.initialBackoff;
        this.restore = b.restore;
        this.validators = List.copyOf(b.validators);
        this.listener = BackupListener.guarded(b.listener);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Schedules the first run at the schedule's next tick. */
    public synchronized BackupScheduler start() {
        if (closed) {
            throw new IllegalStateException("scheduler is closed");
        }
        if (nextRun == null) {
            scheduleNext();
        }
        return this;
    }

    /** The time of the next scheduled run. */
    public Instant nextRunAfter(Instant now) {
        return schedule.next(now);
    }

    /** Ticks skipped because the previous backup was still running. */
    public long skippedRuns() {
        return skipped.get();
    }

    private synchronized void scheduleNext() {
        if (closed) {
            return;
        }
        Instant now = clock.instant();
        long delay = Math.max(0, Duration.between(now, schedule.next(now)).toMillis());
        nextRun = executor.schedule(this::tick, delay, TimeUnit.MILLISECONDS);
    }

    private void tick() {
        try {
            runNow();
        } catch (RuntimeException e) {
            // already reported to listeners; the schedule goes on
            LOG.debug("scheduled backup failed", e);
        } finally {
            scheduleNext();
        }
    }

    /**
     * Runs one backup now (with retries and validation), unless one is running.
     *
     * @return the manifest, or null when skipped because a backup was already running
     * @throws BackupException when every attempt failed
     */
    public Manifest runNow() {
        if (!running.compareAndSet(false, true)) {
            skipped.incrementAndGet();
            return null;
        }
        try {
            Manifest m = runWithRetries();
            validate(m);
            return m;
        } finally {
            running.set(false);
        }
    }

    private Manifest runWithRetries() {
        Duration backoff = initialBackoff;
        for (int attempt = 1; ; attempt++) {
            int current = attempt;
            // decided once, inside the pipeline, so listeners hear the same verdict the loop acts on
            AtomicBoolean retry = new AtomicBoolean();
            try {
                return pipeline.run(attempt, e -> {
                    retry.set(e.retryable() && current < maxAttempts && !closed);
                    return retry.get();
                });
            } catch (BackupException e) {
                if (!retry.get()) {
                    throw e;
                }
                long jittered = backoff.toMillis() / 2 + ThreadLocalRandom.current().nextLong(backoff.toMillis() / 2 + 1);
                LOG.warn("backup attempt {} of {} failed at {} ({}); retrying in {} ms", attempt, maxAttempts, e.stage(),
                        e.getMessage(), jittered);
                try {
                    Thread.sleep(jittered);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                backoff = backoff.multipliedBy(2);
            }
        }
    }

    private void validate(Manifest m) {
        if (restore == null) {
            return;
        }
        for (Validator v : validators) {
            ValidationResult r;
            try {
                r = v.validate(m, restore);
            } catch (Exception e) {
                Instant now = clock.instant();
                r = new ValidationResult(m.id(), v.name(), now, Duration.ZERO,
                        List.of(v.name() + " could not run: " + e), java.util.Map.of());
            }
            restore.repository().recordValidation(r);
            listener.validated(r);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (nextRun != null) {
            nextRun.cancel(false);
        }
    }

    /** Builder for {@link BackupScheduler}; pipeline, schedule and executor are required. */
    public static final class Builder {
        private BackupPipeline pipeline;
        private Schedule schedule;
        private ScheduledExecutorService executor;
        private Clock clock = Clock.systemUTC();
        private int maxAttempts = 3;
        private Duration initialBackoff = Duration.ofSeconds(30);
        private Restore restore;
        private final List<Validator> validators = new ArrayList<>();
        private BackupListener listener = BackupListener.NONE;

        private Builder() {
        }

        public Builder pipeline(BackupPipeline pipeline) {
            this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
            return this;
        }

        public Builder schedule(Schedule schedule) {
            this.schedule = Objects.requireNonNull(schedule, "schedule");
            return this;
        }

        /** Where runs happen; the scheduler never shuts it down. */
        public Builder executor(ScheduledExecutorService executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Attempts per run for retryable failures (1..10, default 3), first backoff (default 30 s). */
        public Builder retries(int maxAttempts, Duration initialBackoff) {
            if (maxAttempts < 1 || maxAttempts > 10) {
                throw new IllegalArgumentException("maxAttempts: got " + maxAttempts + ", allowed 1..10");
            }
            if (initialBackoff.isNegative()) {
                throw new IllegalArgumentException("initialBackoff: got " + initialBackoff + ", must be >= 0");
            }
            this.maxAttempts = maxAttempts;
            this.initialBackoff = initialBackoff;
            return this;
        }

        /** Validates every new backup through {@code restore} with {@code validators}, recording results. */
        public Builder validateWith(Restore restore, Validator... validators) {
            this.restore = Objects.requireNonNull(restore, "restore");
            this.validators.addAll(List.of(validators));
            return this;
        }

        /** Receives validation results (backup events go to the pipeline's listeners). */
        public Builder listener(BackupListener listener) {
            this.listener = this.listener.plus(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        public BackupScheduler build() {
            if (pipeline == null || schedule == null || executor == null) {
                throw new IllegalStateException("pipeline, schedule and executor are required; missing: "
                        + (pipeline == null ? "pipeline " : "") + (schedule == null ? "schedule " : "")
                        + (executor == null ? "executor" : "").trim());
            }
            return new BackupScheduler(this);
        }
    }
}
