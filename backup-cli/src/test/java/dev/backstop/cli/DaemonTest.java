package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Repository;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.source.FileSource;
import dev.backstop.testkit.ManualExecutor;
import dev.backstop.testkit.MutableClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two daemons on one filesystem repository, as two replicas of a service would run them. */
class DaemonTest {
    static final Instant START = Instant.parse("2026-12-07T02:00:30Z");

    @TempDir
    Path dir;
    Path repo;
    Path data;
    MutableClock clock = new MutableClock(START);
    ManualExecutor executor = new ManualExecutor(clock);

    @BeforeEach
    void setUp() throws IOException {
        repo = Files.createDirectories(dir.resolve("repo"));
        data = Files.writeString(dir.resolve("data.sql"), "insert into t values (1);\n".repeat(1000));
    }

    /** A replica: its own view of the shared repository, its own pipeline and lock holder. */
    Daemon replica(String name, String cron) {
        Repository r = Repository.filesystem(repo);
        BackupPipeline pipeline = BackupPipeline.builder().source(FileSource.of(data)).repository(r)
                .lock(RepositoryLock.builder(r.sink()).holder(name).build()).noEncryption().clock(clock).build();
        return Daemon.builder().leases(r.sink()).executor(executor).clock(clock).holder(name)
                .job("backup", CronSchedule.parse(cron, ZoneOffset.UTC), pipeline::run).build();
    }

    int backups() throws IOException {
        return Repository.filesystem(repo).catalog().list().size();
    }

    @Test
    void twoReplicasOnOneRepository_takeExactlyOneBackupPerTick_andTheLoserSkipsQuietly() throws IOException {
        Daemon a = replica("replica-a", "* * * * *").start();
        Daemon b = replica("replica-b", "* * * * *").start();

        for (int tick = 1; tick <= 4; tick++) {
            clock.advance(Duration.ofMinutes(1));
            assertThat(executor.runDue()).as("both replicas' ticks ran").isEqualTo(2);
            assertThat(backups()).as("backups after tick %d", tick).isEqualTo(tick);
        }

        assertThat(a.ran("backup") + b.ran("backup")).isEqualTo(4);
        assertThat(a.notOurs("backup") + b.notOurs("backup")).isEqualTo(4);
        List<String> leases = Repository.filesystem(repo).sink().list(Daemon.PREFIX).stream().map(ObjectInfo::key).toList();
        assertThat(leases).containsExactly("schedule/backup/20261207T020100Z", "schedule/backup/20261207T020200Z",
                "schedule/backup/20261207T020300Z", "schedule/backup/20261207T020400Z");
        // the leases are the repository's own: they are not reported as orphans
        assertThat(Repository.filesystem(repo).orphans(clock.instant().plus(Duration.ofDays(1)), Duration.ZERO).isEmpty()).isTrue();
        a.close();
        b.close();
        assertThat(executor.pending()).as("closing cancels the next ticks").isZero();
    }

    @Test
    void replicasRacingForTheSameTick_runItExactlyOnce() throws Exception {
        Daemon a = replica("replica-a", "* * * * *");
        Daemon b = replica("replica-b", "* * * * *");
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            for (int i = 1; i <= 5; i++) {
                Instant tick = START.plus(Duration.ofMinutes(i)).truncatedTo(java.time.temporal.ChronoUnit.MINUTES);
                CountDownLatch go = new CountDownLatch(1);
                List<CompletableFuture<Daemon.Outcome>> both = new ArrayList<>();
                for (Daemon d : List.of(a, b)) {
                    both.add(CompletableFuture.supplyAsync(() -> {
                        try {
                            go.await();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                        return d.runTick("backup", tick);
                    }, threads));
                }
                go.countDown();
                List<Daemon.Outcome> outcomes = both.stream().map(CompletableFuture::join).toList();
                assertThat(outcomes).containsExactlyInAnyOrder(Daemon.Outcome.RAN, Daemon.Outcome.NOT_OURS);
            }
        } finally {
            threads.shutdownNow();
        }
        assertThat(backups()).isEqualTo(5);
    }

    @Test
    void aFailingJob_isCountedAsRun_andTheNextTickStillComes() {
        AtomicInteger calls = new AtomicInteger();
        Daemon d = Daemon.builder().leases(Repository.filesystem(repo).sink()).executor(executor).clock(clock)
                .job("drill", CronSchedule.parse("*/5 * * * *", ZoneOffset.UTC), () -> {
                    calls.incrementAndGet();
                    throw new IllegalStateException("no backup to drill");
                }).build().start();

        clock.advance(Duration.ofMinutes(5));
        executor.runDue();
        clock.advance(Duration.ofMinutes(5));
        executor.runDue();

        assertThat(calls.get()).isEqualTo(2);
        assertThat(d.ran("drill")).isEqualTo(2);
        assertThat(d.runTick("drill", Instant.parse("2026-12-07T02:05:00Z"))).as("a tick already run").isEqualTo(Daemon.Outcome.NOT_OURS);
        d.close();
        assertThat(d.runTick("drill", Instant.parse("2026-12-07T02:20:00Z"))).isEqualTo(Daemon.Outcome.STOPPED);
    }

    @Test
    void aJobName_thatCannotNameALease_isRefused() {
        assertThatThrownBy(() -> Daemon.builder().job("Backup/1", CronSchedule.parse("* * * * *", ZoneOffset.UTC), () -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Backup/1");
    }

    Daemon timed(String name, Duration jitter, Daemon.MissedRuns missed, java.util.Random random, AtomicInteger runs) {
        return Daemon.builder().leases(Repository.filesystem(repo).sink()).executor(executor).clock(clock).holder(name)
                .random(random).job(new Daemon.Job("backup", CronSchedule.parse("0 * * * *", ZoneOffset.UTC),
                        runs::incrementAndGet, jitter, missed)).build();
    }

    @Test
    void aJitteredTick_runsAfterARandomDelayWithinTheJitter_drawnFromTheGivenRandom() throws IOException {
        AtomicInteger runs = new AtomicInteger();
        long drawn = new java.util.Random(42).nextLong(Duration.ofMinutes(5).toMillis() + 1);
        Daemon d = timed("a", Duration.ofMinutes(5), Daemon.MissedRuns.SKIP, new java.util.Random(42), runs).start();

        // 02:00:30 now: the 03:00 tick, plus the drawn delay
        assertThat(executor.nextDueIn()).contains(Duration.ofMinutes(59).plusSeconds(30).plusMillis(drawn));
        clock.set(Instant.parse("2026-12-07T03:00:00Z"));
        assertThat(executor.runDue()).as("not yet at the tick itself").isZero();
        clock.advance(Duration.ofMillis(drawn));
        assertThat(executor.runDue()).isEqualTo(1);
        assertThat(runs.get()).isEqualTo(1);
        assertThat(Repository.filesystem(repo).sink().list(Daemon.PREFIX).stream().map(ObjectInfo::key))
                .as("the lease is named by the scheduled tick, so replicas agree").containsExactly("schedule/backup/20261207T030000Z");
        d.close();
    }

    @Test
    void afterADowntimeThatMissedTicks_runOnceCatchesUpOnce_andSkipWaitsForTheNextTick() throws IOException {
        AtomicInteger runs = new AtomicInteger();
        Daemon first = timed("a", Duration.ZERO, Daemon.MissedRuns.RUN_ONCE, new java.util.Random(1), runs).start();
        clock.set(Instant.parse("2026-12-07T03:00:00Z"));
        executor.runDue();
        first.close();
        assertThat(runs.get()).isEqualTo(1);

        // down from 03:00 to 07:20: the ticks at 04:00 to 07:00 were missed
        clock.set(Instant.parse("2026-12-07T07:20:00Z"));
        Daemon skipping = timed("b", Duration.ZERO, Daemon.MissedRuns.SKIP, new java.util.Random(1), runs).start();
        assertThat(executor.runDue()).as("skip: nothing until 08:00").isZero();
        skipping.close();

        Daemon catchingUp = timed("c", Duration.ZERO, Daemon.MissedRuns.RUN_ONCE, new java.util.Random(1), runs).start();
        assertThat(executor.runDue()).isEqualTo(1);
        assertThat(runs.get()).as("one catch-up run for four missed ticks").isEqualTo(2);
        assertThat(Repository.filesystem(repo).sink().list(Daemon.PREFIX).stream().map(ObjectInfo::key)).as("leased by the "
                + "latest missed tick").containsExactly("schedule/backup/20261207T030000Z", "schedule/backup/20261207T070000Z");
        assertThat(executor.nextDueIn()).as("then the schedule as usual").contains(Duration.ofMinutes(40));
        catchingUp.close();

        Daemon restarted = timed("d", Duration.ZERO, Daemon.MissedRuns.RUN_ONCE, new java.util.Random(1), runs).start();
        assertThat(executor.runDue()).isZero();
        assertThat(runs.get()).as("a restart right after the catch-up has missed nothing").isEqualTo(2);
        restarted.close();
    }

    @Test
    void theLatestMissedTick_isFoundWithoutWalkingEverySecondOfAWeek() {
        CronSchedule everySecond = CronSchedule.parse("* * * * * *", ZoneOffset.UTC);
        assertThat(Daemon.latestAtOrBefore(everySecond, START.minus(Duration.ofDays(7)), START)).isEqualTo(START);
        CronSchedule hourly = CronSchedule.parse("0 * * * *", ZoneOffset.UTC);
        assertThat(Daemon.latestAtOrBefore(hourly, Instant.parse("2026-12-07T03:00:00Z"), Instant.parse("2026-12-07T07:20:00Z")))
                .isEqualTo(Instant.parse("2026-12-07T07:00:00Z"));
    }

    @Test
    void runOnce_onARepositoryWithNoLeaseYet_hasMissedNothing() {
        AtomicInteger runs = new AtomicInteger();
        Daemon d = timed("a", Duration.ZERO, Daemon.MissedRuns.RUN_ONCE, new java.util.Random(1), runs).start();
        assertThat(executor.runDue()).isZero();
        assertThat(runs.get()).isZero();
        d.close();
    }
}
