package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.event.Alerts;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.event.BackupMetrics;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.schedule.BackupScheduler;
import dev.backstop.core.schedule.Schedule;
import dev.backstop.core.validate.Validators;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchedulerAndAlertsTest {
    @TempDir
    Path tmp;
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    /** A sink whose first {@code failures} creates fail like a network blip. */
    static Sink flaky(Sink real, int failures) {
        AtomicInteger left = new AtomicInteger(failures);
        return new ForwardingSink(real) {
            @Override
            public Upload create(String key, ObjectKind kind) throws IOException {
                if (kind == ObjectKind.DATA && left.getAndDecrement() > 0) {
                    throw new IOException("injected: connection reset");
                }
                return super.create(key, kind);
            }
        };
    }

    @Test
    void retryableFailure_isRetried_thenTheBackupIsValidatedAndRecorded() throws IOException {
        Repository fsRepo = Repository.filesystem(tmp.resolve("repo"));
        Repository repo = Repository.on(flaky(fsRepo.sink(), 2));
        List<ValidationResult> seen = new CopyOnWriteArrayList<>();
        List<Integer> retries = new CopyOnWriteArrayList<>();
        List<Duration> delays = new CopyOnWriteArrayList<>();
        BackupScheduler s = BackupScheduler.builder()
                .pipeline(BackupPipeline.builder().source(TestSources.bytes(new byte[100])).repository(repo).noEncryption().build())
                .schedule(Schedule.every(Duration.ofDays(1)))
                .executor(executor)
                .retries(3, Duration.ofMillis(10))
                .validateWith(Restore.builder().repository(repo).build(), Validators.storedChecksums())
                .listener(new BackupListener() {
                    @Override
                    public void validated(ValidationResult result) {
                        seen.add(result);
                    }

                    @Override
                    public void retryScheduled(BackupException failure, int nextAttempt, Duration delay) {
                        retries.add(nextAttempt);
                        delays.add(delay);
                    }
                })
                .build();

        Manifest m = s.runNow().orElseThrow();

        assertThat(repo.catalog().list()).extracting(Manifest::id).containsExactly(m.id());
        assertThat(retries).containsExactly(2, 3);
        assertThat(delays.get(0)).as("first back-off, half jittered").isBetween(Duration.ofMillis(5), Duration.ofMillis(10));
        assertThat(delays.get(1)).as("doubled").isBetween(Duration.ofMillis(10), Duration.ofMillis(20));
        assertThat(seen).singleElement().satisfies(r -> assertThat(r.passed()).isTrue());
        assertThat(repo.latestValidation(m.id())).hasValueSatisfying(r -> {
            assertThat(r.validator()).isEqualTo("stored-checksums");
            assertThat(r.passed()).isTrue();
        });
    }

    @Test
    void retry_waitsAsAScheduledTask_notOnAThread_andCloseEndsTheRunWithItsFailure() throws Exception {
        Repository fsRepo = Repository.filesystem(tmp.resolve("repo"));
        List<Duration> delays = new CopyOnWriteArrayList<>();
        BackupScheduler s = BackupScheduler.builder()
                .pipeline(BackupPipeline.builder().source(TestSources.bytes(new byte[100]))
                        .repository(Repository.on(flaky(fsRepo.sink(), 1))).noEncryption().build())
                .schedule(Schedule.every(Duration.ofDays(1))).executor(executor)
                .retries(3, Duration.ofHours(1))
                .listener(new BackupListener() {
                    @Override
                    public void retryScheduled(BackupException failure, int nextAttempt, Duration delay) {
                        delays.add(delay);
                    }
                })
                .build();

        java.util.concurrent.CompletableFuture<Manifest> run = s.runAsync().orElseThrow();

        assertThat(run).isNotDone();
        assertThat(delays).singleElement().satisfies(d -> assertThat(d).isBetween(Duration.ofMinutes(30), Duration.ofHours(1)));
        assertThat(s.runNow()).as("a run waiting for its retry is still running").isEmpty();
        s.close();
        assertThat(run).isCompletedExceptionally();
        assertThatThrownBy(run::join).hasCauseInstanceOf(StorageException.class).hasMessageContaining("connection reset");
        assertThat(fsRepo.sink().list("")).isEmpty();
    }

    @Test
    void failureOutlastingTheRetries_isThrown_andNothingIsPublished() throws IOException {
        Repository fsRepo = Repository.filesystem(tmp.resolve("repo"));
        BackupScheduler s = BackupScheduler.builder()
                .pipeline(BackupPipeline.builder().source(TestSources.bytes(new byte[100]))
                        .repository(Repository.on(flaky(fsRepo.sink(), 5))).noEncryption().build())
                .schedule(Schedule.every(Duration.ofDays(1))).executor(executor)
                .retries(2, Duration.ofMillis(1)).build();
        assertThatThrownBy(s::runNow).isInstanceOf(StorageException.class).hasMessageContaining("connection reset");
        assertThat(fsRepo.sink().list("")).isEmpty();
    }

    @Test
    void nonRetryableFailure_isNotRetried() {
        AtomicInteger attempts = new AtomicInteger();
        CaptureSource failing = new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                attempts.incrementAndGet();
                throw new CaptureFailedException("pg_dump failed", 1, "FATAL: password authentication failed", null);
            }
        };
        BackupScheduler s = BackupScheduler.builder()
                .pipeline(BackupPipeline.builder().source(failing).repository(Repository.filesystem(tmp)).noEncryption().build())
                .schedule(Schedule.every(Duration.ofDays(1))).executor(executor).retries(5, Duration.ZERO).build();
        assertThatThrownBy(s::runNow).isInstanceOf(CaptureException.class).hasMessageContaining("password authentication failed");
        assertThat(attempts).hasValue(1);
    }

    @Test
    void runsDoNotOverlap_aTickDuringARunIsSkipped() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CaptureSource slow = new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                inside.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                try (var out = streams.open("data")) {
                    out.write(1);
                }
                return CaptureResult.builder(SourceInfo.of("t", "1")).build();
            }
        };
        BackupScheduler s = BackupScheduler.builder()
                .pipeline(BackupPipeline.builder().source(slow).repository(Repository.filesystem(tmp)).noEncryption().build())
                .schedule(Schedule.every(Duration.ofDays(1))).executor(executor).build();
        Thread first = new Thread(() -> s.runNow());
        first.start();
        assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(s.runNow()).isEmpty();
        release.countDown();
        first.join(10_000);
        assertThat(s.skippedRuns()).isEqualTo(1);
        assertThat(Repository.filesystem(tmp).catalog().list()).hasSize(1);
    }

    @Test
    void scheduledTicks_takeBackups() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        CountDownLatch twoBackups = new CountDownLatch(2);
        BackupListener succeeded = new BackupListener() {
            @Override
            public void backupSucceeded(Manifest manifest) {
                twoBackups.countDown();
            }
        };
        BackupScheduler s = BackupScheduler.builder()
                .pipeline(BackupPipeline.builder().source(TestSources.bytes(new byte[10])).repository(repo).noEncryption()
                        .listener(succeeded).build())
                .schedule(Schedule.every(Duration.ofMillis(1200))).executor(executor).build().start();
        try {
            assertThat(twoBackups.await(30, TimeUnit.SECONDS)).as("two scheduled backups within 30 s").isTrue();
        } finally {
            s.close();
        }
        assertThat(repo.catalog().list().size()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void alerts_fireOnFailure_onFailedValidation_andWhenBackupsGoStale() {
        List<Alerts.Alert> alerts = new ArrayList<>();
        MutableClock clock = new MutableClock(Instant.parse("2026-11-21T00:00:00Z"));
        Alerts a = Alerts.to(alerts::add, Duration.ofHours(25), clock);
        BackupId id = BackupId.parse("20261121T000000Z-raw-abc123");

        assertThat(a.check()).isFalse();
        a.backupFailed(id, new StorageException("backups/x", "disk full", null, true, id));
        a.validated(new ValidationResult(id, "restore-drill", clock.instant(), Duration.ZERO,
                List.of("table public.orders: expected 10 rows, found 9"), java.util.Map.of()));
        clock.advance(Duration.ofHours(26));
        assertThat(a.check()).isTrue();

        assertThat(alerts).extracting(Alerts.Alert::kind).containsExactly(Alerts.Kind.BACKUP_FAILED,
                Alerts.Kind.VALIDATION_FAILED, Alerts.Kind.NO_RECENT_BACKUP);
        assertThat(alerts.get(1).message()).contains("expected 10 rows, found 9");
    }

    @Test
    void alerts_underRetries_stayQuietWhenARetryFixesTheFailure_andFireOnceAfterTheLastAttempt() {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-21T00:00:00Z"));
        List<Alerts.Alert> alerts = new CopyOnWriteArrayList<>();
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        BackupListener attemptsSeen = new BackupListener() {
            @Override
            public void backupAttemptFailed(BackupId id, BackupException failure, int attempt) {
                attempts.add(attempt);
            }
        };
        Alerts a = Alerts.to(alerts::add, Duration.ofHours(25), clock);
        Repository fsRepo = Repository.filesystem(tmp.resolve("repo"));

        BackupScheduler fixedByRetry = BackupScheduler.builder()
                .pipeline(BackupPipeline.builder().source(TestSources.bytes(new byte[100]))
                        .repository(Repository.on(flaky(fsRepo.sink(), 2))).noEncryption().listener(a).listener(attemptsSeen)
                        .clock(clock).build())
                .schedule(Schedule.every(Duration.ofDays(1))).executor(executor).retries(3, Duration.ZERO).build();
        assertThat(fixedByRetry.runNow()).isPresent();
        assertThat(alerts).isEmpty();
        assertThat(attempts).containsExactly(1, 2);

        attempts.clear();
        BackupScheduler exhausted = BackupScheduler.builder()
                .pipeline(BackupPipeline.builder().source(TestSources.bytes(new byte[100]))
                        .repository(Repository.on(flaky(fsRepo.sink(), 5))).noEncryption().listener(a).listener(attemptsSeen)
                        .clock(clock).build())
                .schedule(Schedule.every(Duration.ofDays(1))).executor(executor).retries(3, Duration.ZERO).build();
        assertThatThrownBy(exhausted::runNow).isInstanceOf(BackupException.class);
        assertThat(attempts).containsExactly(1, 2);
        assertThat(alerts).singleElement().satisfies(alert -> {
            assertThat(alert.kind()).isEqualTo(Alerts.Kind.BACKUP_FAILED);
            assertThat(alert.subject()).isEqualTo("RAW backup at STORE");
            assertThat(alert.message()).contains("injected: connection reset");
        });
    }

    @Test
    void checkVerified_firesOnlyWhenTheNewestVerifiedBackupIsOlderThanAllowed() {
        List<Alerts.Alert> alerts = new ArrayList<>();
        MutableClock clock = new MutableClock(Instant.parse("2026-11-21T00:00:00Z"));
        Alerts a = Alerts.to(alerts::add, Duration.ofHours(25), clock);

        assertThat(a.checkVerified(java.util.Optional.empty())).isFalse();
        clock.advance(Duration.ofHours(30));
        assertThat(a.checkVerified(java.util.Optional.of(clock.instant().minus(Duration.ofHours(25))))).isFalse();
        assertThat(a.checkVerified(java.util.Optional.of(clock.instant().minus(Duration.ofHours(26))))).isTrue();
        assertThat(a.checkVerified(java.util.Optional.empty())).isTrue();

        assertThat(alerts).extracting(Alerts.Alert::subject).containsExactly("newest verified backup", "newest verified backup");
        assertThat(alerts.get(0).message()).isEqualTo(
                "newest verified backup finished 2026-11-21T04:00:00Z, older than the allowed PT25H");
        assertThat(alerts.get(1).message()).startsWith("no backup has been verified since 2026-11-21T00:00:00Z");
    }

    @Test
    void metrics_countSuccessesFailuresAndTheAgeOfTheNewestBackup() {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-21T00:00:00Z"));
        BackupMetrics metrics = BackupMetrics.create(clock);
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        BackupPipeline.builder().source(TestSources.bytes(new byte[1000])).repository(repo).noEncryption().listener(metrics)
                .clock(clock).build().run();
        assertThatThrownBy(() -> BackupPipeline.builder().source(TestSources.failingAfter(10, false)).repository(repo).noEncryption()
                .listener(metrics).clock(clock).build().run()).isInstanceOf(CaptureException.class);
        clock.advance(Duration.ofMinutes(90));

        BackupMetrics.Snapshot s = metrics.snapshot();
        assertThat(s.succeeded()).isEqualTo(1);
        assertThat(s.failed()).isEqualTo(1);
        assertThat(s.consecutiveFailures()).isEqualTo(1);
        assertThat(s.lastPlaintextBytes()).isEqualTo(1000);
        assertThat(s.lastFailureStage()).contains(Stage.CAPTURE);
        assertThat(s.newestBackupAge()).contains(Duration.ofMinutes(90));
    }
}
