package dev.backstop.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.schedule.BackupScheduler;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.replication.Replication;
import dev.backstop.core.Repository;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.Restore;
import dev.backstop.core.schedule.Schedule;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.ExpiryReport;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MicrometerListenerTest {
    @TempDir
    Path tmp;
    final StepClock clock = new StepClock(Instant.parse("2026-11-21T02:00:00Z"));
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    /** A clock that stands still until moved, and moves a fixed step per reading when told to. */
    static final class StepClock extends Clock {
        private volatile Instant now;

        StepClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    static CaptureSource bytes(int size) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream out = streams.open("data")) {
                    out.write(new byte[size]);
                }
                return CaptureResult.builder(SourceInfo.of("test", "1")).build();
            }
        };
    }

    /** Fails in capture after the clock moved {@code takes}. */
    CaptureSource failing(Duration takes) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                clock.advance(takes);
                throw new IOException("connection refused");
            }
        };
    }

    Manifest backup(Repository repo, MicrometerListener metrics, int size) {
        return BackupPipeline.builder().source(bytes(size)).repository(repo).noEncryption().listener(metrics).clock(clock)
                .build().run();
    }

    @Test
    void backups_countSuccessesBytesAndFailuresByStageAndReason() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MicrometerListener metrics = MicrometerListener.builder().clock(clock).tags(Tags.of("repository", "orders")).build();
        metrics.bindTo(registry);

        backup(repo, metrics, 1000);
        backup(repo, metrics, 24);
        assertThatThrownBy(() -> BackupPipeline.builder().source(failing(Duration.ofSeconds(7))).repository(repo).noEncryption()
                .listener(metrics).clock(clock).build().run()).isInstanceOf(CaptureException.class);

        assertThat(registry.get(MicrometerListener.BACKUPS_SUCCEEDED).tags("type", "raw", "repository", "orders").counter().count())
                .isEqualTo(2);
        assertThat(registry.get(MicrometerListener.BYTES_IN).counter().count()).isEqualTo(1024);
        assertThat(registry.get(MicrometerListener.BYTES_STORED).counter().count()).isGreaterThan(0);
        assertThat(registry.get(MicrometerListener.BACKUPS_FAILED)
                .tags("stage", "capture", "reason", "none", "retryable", "false", "final", "true").counter().count()).isEqualTo(1);
        assertThat(registry.get(MicrometerListener.BACKUP_DURATION).tags("outcome", "success").timer().count()).isEqualTo(2);
        assertThat(registry.get(MicrometerListener.BACKUP_DURATION).tags("outcome", "failure").timer()
                .totalTime(TimeUnit.SECONDS)).isEqualTo(7);
    }

    @Test
    void aHeldLock_countsAsLockBusy_andAsAFailureAtTheLockStage() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MicrometerListener metrics = MicrometerListener.builder().clock(clock).build();
        metrics.bindTo(registry);
        RepositoryLock.Lease other = RepositoryLock.builder(repo.sink()).holder("other-host").clock(clock).build().acquire();
        try {
            assertThatThrownBy(() -> BackupPipeline.builder().source(bytes(10)).repository(repo).noEncryption().listener(metrics)
                    .lock(RepositoryLock.builder(repo.sink()).holder("me").clock(clock).build()).clock(clock).build().run())
                    .hasMessageContaining("held by other-host");
        } finally {
            other.close();
        }
        assertThat(registry.get(MicrometerListener.LOCK_BUSY).counter().count()).isEqualTo(1);
        assertThat(registry.get(MicrometerListener.BACKUPS_FAILED).tags("stage", "lock", "retryable", "true").counter().count())
                .isEqualTo(1);
    }

    @Test
    void restoresAndValidations_recordDurationsBytesAndOutcome() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MicrometerListener metrics = MicrometerListener.builder().clock(clock).build();
        metrics.bindTo(registry);
        Manifest m = backup(repo, metrics, 4096);
        Restore restore = Restore.builder().repository(repo).allowUnencrypted().listener(metrics).clock(clock).build();

        restore.copyTo(m, "data", new ByteArrayOutputStream());
        restore.verify(m);

        assertThat(registry.get(MicrometerListener.RESTORE_BYTES).counter().count()).isEqualTo(4096);
        assertThat(registry.get(MicrometerListener.RESTORE_DURATION).timer().count()).isEqualTo(1);
        assertThat(registry.get(MicrometerListener.VALIDATION_DURATION).tags("validator", "full-decode", "outcome", "pass")
                .timer().count()).isEqualTo(1);
    }

    @Test
    void newestVerifiedAge_isReadLazilyFromTheRepository_cached_andRefreshedWhenAValidationPasses() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MicrometerListener metrics = MicrometerListener.builder().repository(repo).clock(clock).cacheFor(Duration.ofMinutes(5))
                .build();
        metrics.bindTo(registry);
        Restore restore = Restore.builder().repository(repo).allowUnencrypted().listener(metrics).clock(clock).build();

        Manifest first = backup(repo, metrics, 10);
        assertThat(age()).isNaN();

        restore.verify(first);
        clock.advance(Duration.ofHours(2));
        assertThat(age()).isEqualTo(Duration.ofHours(2).toSeconds());

        // a newer backup verified by another process: not seen until the cache runs out
        Manifest second = backup(repo, MicrometerListener.builder().build(), 10);
        Restore.builder().repository(repo).allowUnencrypted().clock(clock).build().verify(second);
        clock.advance(Duration.ofMinutes(1));
        assertThat(age()).isEqualTo(Duration.ofMinutes(121).toSeconds());
        clock.advance(Duration.ofMinutes(4));
        assertThat(age()).isEqualTo(Duration.ofMinutes(5).toSeconds());
    }

    @Test
    void newestVerifiedAge_ofAnUnreadableRepository_isNaN_andTheScrapeDoesNotFail() throws IOException {
        Path root = tmp.resolve("repo");
        Repository repo = Repository.filesystem(root);
        MicrometerListener metrics = MicrometerListener.builder().repository(repo).clock(clock).build();
        metrics.bindTo(registry);
        Manifest m = backup(repo, metrics, 10);
        Restore.builder().repository(repo).allowUnencrypted().listener(metrics).clock(clock).build().verify(m);
        java.nio.file.Files.writeString(root.resolve("backups/" + m.id().value() + "/manifest.json"), "{ not json");

        assertThat(age()).isNaN();
    }

    @Test
    void expiry_countsDeletedBackupsAndFreedBytes() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MicrometerListener metrics = MicrometerListener.builder().clock(clock).build();
        metrics.bindTo(registry);
        Restore restore = Restore.builder().repository(repo).allowUnencrypted().clock(clock).build();
        long freed = 0;
        for (int i = 0; i < 3; i++) {
            Manifest m = backup(repo, metrics, 100 + i);
            restore.verify(m);
            if (i < 2) {
                freed += m.storedBytes();
            }
            clock.advance(Duration.ofHours(1));
        }

        ExpiryReport report = Expiry.builder().repository(repo).planner(RetentionPlanner.of(RetentionPolicy.keepLast(1)))
                .clock(clock).listener(metrics).build().run();

        assertThat(report.deletedBackups()).hasSize(2);
        assertThat(registry.get(MicrometerListener.EXPIRY_DELETIONS).counter().count()).isEqualTo(2);
        assertThat(registry.get(MicrometerListener.EXPIRY_FREED_BYTES).counter().count()).isEqualTo(freed);
    }

    @Test
    void aRetriedAttempt_countsAsARetry_andEachLockWaitIsCountedWithWhetherARetryFollows() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MicrometerListener metrics = MicrometerListener.builder().clock(clock).build();
        metrics.bindTo(registry);
        RepositoryLock.Lease other = RepositoryLock.builder(repo.sink()).holder("other-host").clock(clock).build().acquire();
        java.util.concurrent.ScheduledExecutorService unused = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try {
            BackupPipeline pipeline = BackupPipeline.builder().source(bytes(10)).repository(repo).noEncryption().listener(metrics)
                    .lock(RepositoryLock.builder(repo.sink()).holder("me").clock(clock).build()).clock(clock).build();
            BackupScheduler scheduler = BackupScheduler.builder().pipeline(pipeline).schedule(Schedule.every(Duration.ofHours(1)))
                    .executor(unused).clock(clock).retries(2, Duration.ZERO).build();

            assertThatThrownBy(scheduler::runNow).hasMessageContaining("held by other-host");
        } finally {
            other.close();
            unused.shutdownNow();
        }

        assertThat(registry.get(MicrometerListener.RETRIES).tags("type", "raw", "stage", "lock").counter().count()).isEqualTo(1);
        assertThat(registry.get(MicrometerListener.LOCK_BUSY).tags("final", "false").counter().count()).isEqualTo(1);
        assertThat(registry.get(MicrometerListener.LOCK_BUSY).tags("final", "true").counter().count()).isEqualTo(1);
        assertThat(registry.get(MicrometerListener.BACKUPS_FAILED).tags("final", "true").counter().count()).isEqualTo(1);
    }

    @Test
    void drills_countPassAndFail_andTheRtoGaugeShowsTheNewestDrillsMeasurement() {
        MicrometerListener metrics = MicrometerListener.builder().clock(clock).build();
        metrics.bindTo(registry);
        BackupId id = BackupId.parse("20261121T020000Z-raw-a1b2c3");

        metrics.validated(new ValidationResult(id, "restore-drill", clock.instant(), Duration.ofSeconds(50), List.of(),
                Map.of("rto_ms", "48000")));
        metrics.validated(new ValidationResult(id, "restore-drill", clock.instant(), Duration.ofSeconds(70),
                List.of("table customer: 499 rows, expected 500"), Map.of("rto_ms", "65500")));

        assertThat(registry.get(MicrometerListener.VALIDATIONS).tags("validator", "restore-drill", "outcome", "pass").counter()
                .count()).isEqualTo(1);
        assertThat(registry.get(MicrometerListener.VALIDATIONS).tags("validator", "restore-drill", "outcome", "fail").counter()
                .count()).isEqualTo(1);
        assertThat(registry.get(MicrometerListener.DRILL_RTO).tags("validator", "restore-drill").timeGauge()
                .value(TimeUnit.SECONDS)).isEqualTo(65.5);
    }

    @Test
    void replicationLag_isZeroForAReplicaWithTheNewestBackup_andTheAgeOfTheOldestMissingOneOtherwise() {
        Repository primary = Repository.filesystem(tmp.resolve("primary"));
        Repository dr = Repository.filesystem(tmp.resolve("dr"));
        Repository offsite = Repository.filesystem(tmp.resolve("offsite"));
        Replication replication = Replication.from(primary).to("dr", dr).to("offsite", offsite).clock(clock).build();
        MicrometerListener metrics = MicrometerListener.builder().replication(replication).clock(clock)
                .cacheFor(Duration.ZERO).build();
        metrics.bindTo(registry);

        Manifest first = backup(primary, metrics, 10);
        replication.copy(first.id());
        clock.advance(Duration.ofHours(1));
        Manifest second = backup(primary, metrics, 10);
        replication.copy(second.id(), replication.replicas().get(0));
        clock.advance(Duration.ofHours(1));
        backup(primary, metrics, 10);
        clock.advance(Duration.ofMinutes(30));

        // dr lacks the third (30 min old); offsite lacks the second and the third (the second is 90 min old)
        assertThat(lag("dr")).isEqualTo(Duration.ofMinutes(30).toSeconds());
        assertThat(lag("offsite")).isEqualTo(Duration.ofMinutes(90).toSeconds());

        replication.copyAll();
        assertThat(lag("dr")).isZero();
        assertThat(lag("offsite")).isZero();
    }

    private double lag(String replica) {
        return registry.get(MicrometerListener.REPLICATION_LAG).tags("replica", replica).timeGauge().value(TimeUnit.SECONDS);
    }

    private double age() {
        return registry.get(MicrometerListener.NEWEST_VERIFIED_AGE).timeGauge().value(TimeUnit.SECONDS);
    }
}
