package dev.backstop.core.event;

import dev.backstop.core.schedule.BackupScheduler;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Stage;
import dev.backstop.core.ValidationResult;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A listener that keeps the numbers an operator graphs and alerts on: successes, failures,
 * consecutive failures, the last success and its size and duration, validation outcomes, and
 * the age of the newest good backup (the recovery point if the database died now). Bridge
 * {@link #snapshot()} to your metrics system; Backstop depends on none ({@code backup-micrometer}
 * has a Micrometer listener). Failures are runs that failed for good: an attempt that a {@link
 * BackupScheduler} retries is not counted.
 *
 * <p>Thread-safe; callbacks are lock-free.
 */
public final class BackupMetrics implements BackupListener {
    /** The numbers at one moment. */
    public record Snapshot(long succeeded, long failed, long consecutiveFailures, Optional<Instant> lastSuccess,
                           Optional<Duration> lastDuration, long lastPlaintextBytes, long lastStoredBytes,
                           long validationsPassed, long validationsFailed, Optional<Stage> lastFailureStage,
                           Optional<Duration> newestBackupAge) {
    }

    private final Clock clock;
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong consecutiveFailures = new AtomicLong();
    private final AtomicLong validationsPassed = new AtomicLong();
    private final AtomicLong validationsFailed = new AtomicLong();
    private final AtomicReference<Manifest> lastSuccess = new AtomicReference<>();
    private final AtomicReference<Stage> lastFailureStage = new AtomicReference<>();

    private BackupMetrics(Clock clock) {
        this.clock = clock;
    }

    public static BackupMetrics create(Clock clock) {
        return new BackupMetrics(Objects.requireNonNull(clock, "clock"));
    }

    @Override
    public void backupSucceeded(Manifest manifest) {
        succeeded.incrementAndGet();
        consecutiveFailures.set(0);
        lastSuccess.set(manifest);
    }

    @Override
    public void backupFailed(BackupId id, BackupException failure) {
        failed.incrementAndGet();
        consecutiveFailures.incrementAndGet();
        lastFailureStage.set(failure.stage());
    }

    @Override
    public void validated(ValidationResult result) {
        (result.passed() ? validationsPassed : validationsFailed).incrementAndGet();
    }

    public Snapshot snapshot() {
        Manifest last = lastSuccess.get();
        return new Snapshot(succeeded.get(), failed.get(), consecutiveFailures.get(),
                Optional.ofNullable(last).map(Manifest::finishedAt),
                Optional.ofNullable(last).map(Manifest::duration),
                last == null ? 0 : last.plaintextBytes(), last == null ? 0 : last.storedBytes(),
                validationsPassed.get(), validationsFailed.get(), Optional.ofNullable(lastFailureStage.get()),
                Optional.ofNullable(last).map(m -> Duration.between(m.finishedAt(), clock.instant())));
    }
}
