package dev.backstop.core.schedule;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.Validator;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.internal.access.CoreAccess;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.core.internal.concurrent.LogContext;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;
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
 * failure as {@link BackupListener#backupFailed}, so alerts fire once per failed run; the
 * scheduler's own listeners hear {@link BackupListener#retryScheduled} with the wait. After a
 * success, each validator runs and its result is appended to the repository as a validation
 * record. Missed ticks (the service was down) are not made up: the next run is the next tick
 * from now.
 *
 * <p><b>Threading.</b> Uses the executor it is given and never shuts it down. A retry waits as a
 * task scheduled on that executor, never by blocking one of its threads. {@link #close()} cancels
 * future runs and pending retries and waits for none.
 */
public final class BackupScheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BackupScheduler.class);

    private final BackupPipeline pipeline;
    private final Schedule schedule;
    private final ScheduledExecutorService executor;
    private final Clock clock;
    private final int maxAttempts;
    private final Backoff backoff;
    private final Restore restore;
    private final List<Validator> validators;
    private final BackupListener listener;
    private final AtomicBoolean running = new AtomicBoolean();
    private final AtomicLong skipped = new AtomicLong();
    private volatile ScheduledFuture<?> nextRun;
    private volatile Pending pendingRetry;
    private volatile boolean closed;

    private BackupScheduler(Builder b) {
        this.pipeline = b.pipeline;
        this.schedule = b.schedule;
        this.executor = b.executor;
        this.clock = b.clock;
        this.maxAttempts = b.maxAttempts;
        Backoff.Builder backoff = Backoff.builder(b.initialBackoff, b.initialBackoff.multipliedBy(1L << 10)).jitter(0.5);
        if (b.random != null) {
            backoff.random(b.random);
        }
        this.backoff = backoff.build();
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
        Optional<CompletableFuture<Manifest>> run = runAsync();
        if (run.isEmpty()) {
            scheduleNext();
            return;
        }
        run.get().whenComplete((m, e) -> {
            if (e != null) {
                // already reported to listeners; the schedule goes on
                LOG.debug("scheduled backup failed", e);
            }
            scheduleNext();
        });
    }

    /**
     * Runs one backup now (with retries and validation), unless one is running, and waits for it.
     * The first attempt runs on the calling thread, retries on the executor after their back-off.
     *
     * @return the manifest, or empty when skipped because a backup was already running
     * @throws BackupException when every attempt failed
     */
    public Optional<Manifest> runNow() {
        Optional<CompletableFuture<Manifest>> run = runAsync();
        if (run.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(run.get().join());
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /**
     * Starts one backup now (with retries and validation), unless one is running. The first
     * attempt runs on the calling thread; retries run on the executor after their back-off.
     *
     * @return the run, completing with the manifest or the last attempt's {@link BackupException};
     *         empty when skipped because a backup was already running
     */
    public Optional<CompletableFuture<Manifest>> runAsync() {
        if (!running.compareAndSet(false, true)) {
            skipped.incrementAndGet();
            return Optional.empty();
        }
        CompletableFuture<Manifest> result = new CompletableFuture<>();
        result.whenComplete((m, e) -> running.set(false));
        // one correlation id for every attempt and validation of this run (retries carry it along)
        LogContext.Scope log = LogContext.open(null);
        try {
            attempt(1, result);
        } finally {
            log.close();
        }
        return Optional.of(result);
    }

    private void attempt(int attempt, CompletableFuture<Manifest> result) {
        // decided once, inside the pipeline, so listeners hear the same verdict the scheduler acts on
        AtomicBoolean retry = new AtomicBoolean();
        Manifest m;
        try {
            m = CoreAccess.get().run(pipeline, attempt, e -> {
                retry.set(e.retryable() && attempt < maxAttempts && !closed);
                return retry.get();
            });
        } catch (BackupException e) {
            if (!retry.get()) {
                result.completeExceptionally(e);
                return;
            }
            try {
                retryLater(attempt, e, result);
            } catch (RuntimeException | Error unexpected) {
                // on the executor nobody would see it: the run must still end
                e.addSuppressed(unexpected);
                result.completeExceptionally(e);
            }
            return;
        } catch (RuntimeException | Error e) {
            result.completeExceptionally(e);
            throw e;
        }
        try {
            validate(m);
            result.complete(m);
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
        }
    }

    private synchronized void retryLater(int failed, BackupException e, CompletableFuture<Manifest> result) {
        if (closed) {
            result.completeExceptionally(e);
            return;
        }
        Duration delay = backoff.delay(failed);
        LOG.atInfo().addKeyValue("event", "backup.retry.scheduled").addKeyValue("attempt", failed + 1)
                .addKeyValue("attempts", maxAttempts).addKeyValue("delay.ms", delay.toMillis())
                .log("backup attempt {} of {} in {} ms", failed + 1, maxAttempts, delay.toMillis());
        listener.retryScheduled(e, failed + 1, delay);
        try {
            pendingRetry = new Pending(executor.schedule(LogContext.propagate(() -> attempt(failed + 1, result)), delay.toNanos(),
                    TimeUnit.NANOSECONDS), result, e);
        } catch (RejectedExecutionException rejected) {
            e.addSuppressed(rejected);
            result.completeExceptionally(e);
        }
    }

    private void validate(Manifest m) {
        if (restore == null) {
            return;
        }
        LogContext.Scope log = LogContext.open(restore.repository().sink()).backupId(m.id()).stage(Stage.VERIFY);
        try {
            validateAll(m);
        } finally {
            log.close();
        }
    }

    private void validateAll(Manifest m) {
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
        Pending retry = pendingRetry;
        if (retry != null && retry.next().cancel(false)) {
            // the run that waited for it ends with its last failure
            retry.result().completeExceptionally(retry.failure());
        }
    }

    /** A retry waiting on the executor, the run it belongs to and the failure it follows. */
    private record Pending(ScheduledFuture<?> next, CompletableFuture<Manifest> result, BackupException failure) {
    }

    /**
     * Builder for {@link BackupScheduler}; pipeline, schedule and executor are required. Each
     * setting may be given once, except {@link #listener}, which adds.
     */
    public static final class Builder {
        private final Settings given = new Settings();
        private BackupPipeline pipeline;
        private Schedule schedule;
        private ScheduledExecutorService executor;
        private Clock clock = Clock.systemUTC();
        private RandomGenerator random;
        private int maxAttempts = 3;
        private Duration initialBackoff = Duration.ofSeconds(30);
        private Restore restore;
        private final List<Validator> validators = new ArrayList<>();
        private BackupListener listener = BackupListener.NONE;

        private Builder() {
        }

        public Builder pipeline(BackupPipeline pipeline) {
            this.pipeline = given.once("pipeline", this.pipeline, pipeline);
            return this;
        }

        public Builder schedule(Schedule schedule) {
            this.schedule = given.once("schedule", this.schedule, schedule);
            return this;
        }

        /** Where runs and the waits before retries happen; the scheduler never shuts it down. */
        public Builder executor(ScheduledExecutorService executor) {
            this.executor = given.once("executor", this.executor, executor);
            return this;
        }

        /** The time ticks are computed from; the system's UTC clock by default. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /** The source of the back-off's jitter; by default the retrying thread's {@code ThreadLocalRandom}. */
        public Builder random(RandomGenerator random) {
            this.random = given.once("random", this.random, random);
            return this;
        }

        /**
         * Attempts per run for retryable failures (1..10, default 3), first backoff (default 30 s),
         * doubled after each failed retry, each wait shortened by a random share of up to half.
         */
        public Builder retries(int maxAttempts, Duration initialBackoff) {
            if (maxAttempts < 1 || maxAttempts > 10) {
                throw new IllegalArgumentException("maxAttempts: got " + maxAttempts + ", allowed 1..10");
            }
            if (initialBackoff.isNegative()) {
                throw new IllegalArgumentException("initialBackoff: got " + initialBackoff + ", must be >= 0");
            }
            given.once("retries", this.maxAttempts + " attempts from " + this.initialBackoff,
                    maxAttempts + " attempts from " + initialBackoff);
            this.maxAttempts = maxAttempts;
            this.initialBackoff = initialBackoff;
            return this;
        }

        /** Validates every new backup through {@code restore} with {@code validators}, recording results. */
        public Builder validateWith(Restore restore, Validator... validators) {
            this.restore = given.once("validateWith", this.restore, restore);
            this.validators.addAll(List.of(validators));
            return this;
        }

        /**
         * Adds a listener for validation results and retries (backup events go to the pipeline's
         * listeners); additive: every listener given hears every event, in the order given.
         */
        public Builder listener(BackupListener listener) {
            this.listener = this.listener.plus(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        public BackupScheduler build() {
            if (pipeline == null || schedule == null || executor == null) {
                throw new IllegalStateException("pipeline, schedule and executor are required; missing: "
                        + ((pipeline == null ? "pipeline " : "") + (schedule == null ? "schedule " : "")
                        + (executor == null ? "executor" : "")).trim());
            }
            return new BackupScheduler(this);
        }
    }
}
