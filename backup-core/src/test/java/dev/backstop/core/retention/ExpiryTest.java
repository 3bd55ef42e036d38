package dev.backstop.core.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.LogRange;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.MutableClock;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Repository;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.Restore;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageTier;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExpiryTest {
    private static final Instant T0 = Instant.parse("2026-11-01T02:00:00Z");
    private static final String WAL = "wal/7300000000000000001";

    @TempDir
    Path tmp;

    private final MutableClock clock = new MutableClock(T0);
    private final SplittableRandom random = new SplittableRandom(42);

    /** A physical-style backup at {@code at} that needs logs [start, start + 100). */
    private Manifest backup(Repository repo, Instant at, long logStart, boolean verify) {
        clock.set(at);
        byte[] data = new byte[2048];
        new Random(at.getEpochSecond()).nextBytes(data);
        CaptureSource source = new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.PHYSICAL;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream out = streams.open("base")) {
                    out.write(data);
                }
                return CaptureResult.builder(SourceInfo.of("test", "1"))
                        .requiredLogs(new LogRange(WAL, logStart, logStart + 100)).build();
            }
        };
        Manifest m = BackupPipeline.builder().source(source).repository(repo).noEncryption().clock(clock).random(random)
                .pipelining(false).build().run();
        if (verify) {
            repo.recordValidation(new ValidationResult(m.id(), "test", at.plusSeconds(60), Duration.ofSeconds(1),
                    List.of(), Map.of()));
        }
        return m;
    }

    /** Ten daily verified backups, each needing 100 log positions; logs archived in segments of 50. */
    private List<Manifest> tenDays(Repository repo, MemoryLogArchive logs) {
        List<Manifest> out = new ArrayList<>();
        for (int d = 0; d < 10; d++) {
            out.add(backup(repo, T0.plus(Duration.ofDays(d)), d * 1000L, true));
        }
        for (long p = 0; p < 10_000; p += 500) {
            logs.add(new LogSegment(WAL + "/" + p, new LogRange(WAL, p, p + 500), 500));
        }
        clock.set(T0.plus(Duration.ofDays(10)));
        return out;
    }

    private Expiry expiry(Repository repo, LogArchive logs, RetentionPolicy policy) {
        return Expiry.builder().repository(repo).planner(RetentionPlanner.of(policy)).logs(logs).clock(clock)
                .holder("test-expiry").build();
    }

    @Test
    void run_deletesWhatThePlanDeletes_andRunningAgainDeletesNothing() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MemoryLogArchive logs = new MemoryLogArchive();
        List<Manifest> all = tenDays(repo, logs);
        Expiry expiry = expiry(repo, logs, RetentionPolicy.keepLast(3));

        RetentionPlan dry = expiry.plan();
        ExpiryReport done = expiry.run();

        assertThat(done.deletedBackups()).containsExactlyInAnyOrderElementsOf(dry.deleted());
        assertThat(ids(repo)).containsExactlyElementsOf(all.subList(7, 10).stream().map(Manifest::id).toList());
        // logs before the oldest kept backup's start (7000) go; the rest stay
        assertThat(logs.keys()).allSatisfy(k -> assertThat(Long.parseLong(k.substring(WAL.length() + 1))).isGreaterThanOrEqualTo(6500));
        assertThat(done.bytesFreed()).isEqualTo(dry.bytesFreed());
        assertNoLeftovers(repo);

        ExpiryReport again = expiry.run();
        assertThat(again.deletedBackups()).isEmpty();
        assertThat(again.deletedLogs()).isEmpty();
    }

    @Test
    void run_killedAfterAnyNumberOfDeletes_thenRerun_endsConsistentWithNothingLostThatThePlanKept() throws IOException {
        int maxDeletes = 0;
        for (int n = 0; ; n++) {
            Path root = tmp.resolve("repo-" + n);
            KillableSink sink = new KillableSink(FileSystemSink.open(root));
            Repository repo = Repository.on(sink);
            MemoryLogArchive logs = new MemoryLogArchive();
            tenDays(repo, logs);
            Expiry expiry = expiry(repo, logs, RetentionPolicy.keepLast(2).and(RetentionPolicy.keepWithin(Duration.ofDays(4))));
            RetentionPlan plan = expiry.plan();

            sink.killAfterDeletes(n);
            boolean killed;
            try {
                expiry.run();
                killed = false;
            } catch (BackupException e) {
                killed = true;
            }
            // consistent after the kill: every visible backup is whole and the plan's kept ones are all there
            assertEveryVisibleBackupIsWhole(repo);
            assertThat(ids(repo)).containsAll(plan.kept());

            sink.revive();
            expiry.run();
            assertThat(ids(repo)).containsExactlyElementsOf(plan.kept());
            assertNoLeftovers(repo);
            assertThat(sink.list(RepositoryLayout.EXPIRY_JOURNALS)).isEmpty();
            assertThat(expiry.plan().isEmpty()).isTrue();
            if (!killed) {
                maxDeletes = n;
                break;
            }
        }
        // the loop killed the run at every delete before it could finish once
        assertThat(maxDeletes).isGreaterThan(10);
    }

    @Test
    void aBackupCheckedWithRestoreVerify_countsAsVerified_andOneCheckedKeylesslyDoesNot() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest keyed = backup(repo, T0, 0, false);
        Manifest keyless = backup(repo, T0.plus(Duration.ofDays(1)), 1000, false);
        clock.set(T0.plus(Duration.ofDays(2)));
        Restore restore = Restore.builder().repository(repo).clock(clock).build();

        restore.verify(keyed).orThrow();
        restore.verifyStored(keyless).orThrow();

        BackupHistory h = expiry(repo, LogArchive.NONE, RetentionPolicy.keepLast(1)).history();
        assertThat(h.get(keyed.id()).orElseThrow().status()).isEqualTo(BackupStatus.VERIFIED);
        assertThat(h.get(keyless.id()).orElseThrow().status()).isEqualTo(BackupStatus.UNVERIFIED);
        RetentionPlan plan = expiry(repo, LogArchive.NONE, RetentionPolicy.keepLast(1)).plan();
        assertThat(plan.kept()).containsExactly(keyed.id(), keyless.id());
        assertThat(plan.decisions().get(0).reasons()).containsExactly(RetentionPlanner.NEWEST_VERIFIED);
    }

    @Test
    void run_whenNoVerifiedBackupWouldRemain_refusesAndDeletesNothing() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        for (int d = 0; d < 4; d++) {
            backup(repo, T0.plus(Duration.ofDays(d)), d * 1000L, false);
        }
        clock.set(T0.plus(Duration.ofDays(30)));
        Expiry expiry = expiry(repo, LogArchive.NONE, RetentionPolicy.keepLast(1));

        RetentionPlan dryRun = expiry.plan();
        assertThat(dryRun.deleted()).hasSize(3);
        assertThat(dryRun.warnings()).contains("4 of 4 backups have never been verified; Restore.verify(backup) or a "
                + "restore drill verifies one", "no verified backup in the last 7d (no backup has ever been verified)");
        assertThat(dryRun.toTable()).contains("WARNING: no verified backup in the last 7d");
        assertThatThrownBy(expiry::run).isInstanceOfSatisfying(BackupException.class, e -> {
            assertThat(e.stage()).isEqualTo(Stage.RETENTION);
            assertThat(e.getMessage()).contains("no verified backup");
        });
        assertThat(ids(repo)).hasSize(4);
    }

    @Test
    void run_whileAnotherHostHoldsTheLock_failsWithLockStage_andDeletesNothing() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MemoryLogArchive logs = new MemoryLogArchive();
        tenDays(repo, logs);
        RepositoryLock.Lease other = RepositoryLock.builder(repo.sink()).holder("backup-on-host-b").clock(clock).build().acquire();
        try {
            assertThatThrownBy(expiry(repo, logs, RetentionPolicy.keepLast(1))::run)
                    .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.stage()).isEqualTo(Stage.LOCK))
                    .hasMessageContaining("backup-on-host-b");
        } finally {
            other.close();
        }
        assertThat(ids(repo)).hasSize(10);
    }

    @Test
    void run_skipsABackupWhoseManifestIsUnderObjectLock_andSaysWhy() throws IOException {
        KillableSink sink = new KillableSink(FileSystemSink.open(tmp.resolve("repo")));
        Repository repo = Repository.on(sink);
        List<Manifest> all = tenDays(repo, new MemoryLogArchive());
        BackupId lockedId = all.get(0).id();
        sink.locked.add(Repository.manifestKey(lockedId));

        ExpiryReport r = expiry(repo, LogArchive.NONE, RetentionPolicy.keepLast(3)).run();

        assertThat(r.deletedBackups()).hasSize(6).doesNotContain(lockedId);
        assertThat(r.skipped()).singleElement().satisfies(s -> {
            assertThat(s.key()).isEqualTo(Repository.manifestKey(lockedId));
            assertThat(s.reason()).contains("object lock until 2030-01-01T00:00:00Z");
        });
        assertThat(ids(repo)).contains(lockedId);
        assertEveryVisibleBackupIsWhole(repo);
    }

    @Test
    void run_keepsPinnedAndLegallyHeldBackups_whateverThePolicy() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        List<Manifest> all = tenDays(repo, new MemoryLogArchive());
        Holds holds = Holds.of(repo);
        holds.pin(all.get(1).id(), "before the migration");
        holds.placeLegalHold(all.get(2).id(), "case 4711");

        Expiry expiry = expiry(repo, LogArchive.NONE, RetentionPolicy.keepLast(1));
        RetentionPlan plan = expiry.plan();
        expiry.run();

        assertThat(ids(repo)).containsExactly(all.get(1).id(), all.get(2).id(), all.get(9).id());
        assertThat(plan.toTable()).contains("kept: pinned").contains("kept: under legal hold");
        assertThatThrownBy(() -> holds.pin(all.get(0).id(), "too late"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no such backup");
    }

    @Test
    void execute_ofAnApprovedPlan_neverDeletesWhatTheApprovedPlanKept() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        List<Manifest> all = tenDays(repo, new MemoryLogArchive());
        Expiry expiry = expiry(repo, LogArchive.NONE, RetentionPolicy.keepLast(5));
        RetentionPlan approved = expiry.plan();
        // a day later, keepLast(5) would also drop day 5; the approved plan did not say so
        backup(repo, T0.plus(Duration.ofDays(10)), 10_000, true);
        clock.set(T0.plus(Duration.ofDays(11)));

        ExpiryReport r = expiry.execute(approved);

        assertThat(r.deletedBackups()).containsExactlyInAnyOrderElementsOf(approved.deleted());
        assertThat(ids(repo)).contains(all.get(5).id());
    }

    @Test
    void run_withATierMover_movesKeptBackupsAndRecordsTheirTier() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        List<Manifest> all = tenDays(repo, new MemoryLogArchive());
        Map<String, StorageTier> moved = new ConcurrentHashMap<>();
        TierSchedule schedule = TierSchedule.startingIn(StorageTier.HOT).then(StorageTier.WARM, Duration.ofDays(5));
        Expiry expiry = Expiry.builder().repository(repo).clock(clock).tierMover(moved::put)
                .planner(RetentionPlanner.builder().policy(RetentionPolicy.keepLast(10)).tiers(schedule).build()).build();

        ExpiryReport r = expiry.run();

        // at day 10, days 0..5 are 5 days old or more: WARM; the others stay HOT
        assertThat(r.movedTiers()).extracting(TierMove::backup)
                .containsExactlyElementsOf(all.subList(0, 6).stream().map(Manifest::id).toList());
        assertThat(moved).hasSize(6).containsValue(StorageTier.WARM);
        assertThat(Holds.of(repo).tiers()).hasSize(6);
        assertThat(expiry.plan().tierMoves()).isEmpty();
    }

    private static List<BackupId> ids(Repository repo) throws IOException {
        return repo.catalog().list().stream().map(Manifest::id).toList();
    }

    private static void assertEveryVisibleBackupIsWhole(Repository repo) throws IOException {
        Restore restore = Restore.builder().repository(repo).build();
        for (Manifest m : repo.catalog().list()) {
            assertThat(restore.verifyStored(m).findings()).as("backup %s", m.id()).isEmpty();
            m.parent().ifPresent(p -> {
                try {
                    assertThat(repo.catalog().get(p)).as("parent of %s", m.id()).isPresent();
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
        }
    }

    private static void assertNoLeftovers(Repository repo) throws IOException {
        Set<String> live = repo.catalog().list().stream().map(m -> m.id().value()).collect(Collectors.toSet());
        Set<String> owners = new HashSet<>();
        for (ObjectInfo o : repo.sink().list("backups/")) {
            owners.add(o.key().split("/")[1]);
        }
        for (ObjectInfo o : repo.sink().list("keys/")) {
            owners.add(o.key().substring("keys/".length()).replace(".dek", ""));
        }
        assertThat(live).containsAll(owners);
    }
}
