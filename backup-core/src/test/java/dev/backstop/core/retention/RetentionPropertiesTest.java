package dev.backstop.core.retention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupId;
import dev.backstop.core.LogRange;
import dev.backstop.core.StorageTier;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The invariants retention promises, over generated histories (fixed seeds): safety, monotonicity,
 * idempotence and purity, whatever the rules, including adversarial custom rules.
 */
class RetentionPropertiesTest {
    private static final TierSchedule TIERS = TierSchedule.startingIn(StorageTier.HOT)
            .then(StorageTier.WARM, Duration.ofDays(30)).then(StorageTier.COLD, Duration.ofDays(90))
            .deleteAfter(Duration.ofDays(365));

    @Provide
    Arbitrary<Scenario> scenarios() {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(0, 60),
                        Arbitraries.of(Scenario.ZONES), Arbitraries.of(Scenario.STARTS))
                .as(Scenario::generate);
    }

    @Provide
    Arbitrary<RetentionPolicy> policies() {
        Arbitrary<ZoneId> zones = Arbitraries.of(Scenario.ZONES);
        Arbitrary<Duration> durations = Arbitraries.integers().between(1, 60 * 24).map(h -> Duration.ofMinutes(h * 37L));
        Arbitrary<RetentionPolicy> one = Arbitraries.oneOf(
                Arbitraries.integers().between(0, 6).map(RetentionPolicy::keepLast),
                Arbitraries.integers().between(0, 3).map(RetentionPolicy::keepAtLeast),
                Combinators.combine(Arbitraries.integers().between(0, 30), zones).as(RetentionPolicy::keepHourly),
                Combinators.combine(Arbitraries.integers().between(0, 14), zones).as(RetentionPolicy::keepDaily),
                Combinators.combine(Arbitraries.integers().between(0, 8), zones).as(RetentionPolicy::keepWeekly),
                Combinators.combine(Arbitraries.integers().between(0, 12), zones).as(RetentionPolicy::keepMonthly),
                Combinators.combine(Arbitraries.integers().between(0, 3), zones).as(RetentionPolicy::keepYearly),
                durations.map(RetentionPolicy::keepWithin),
                durations.map(RetentionPolicy::keepRecoveryWindow),
                Arbitraries.just(RetentionPolicy.keepPinned()),
                Arbitraries.just(RetentionPolicy.none()),
                Arbitraries.longs().map(RetentionPropertiesTest::randomSubset),
                Arbitraries.just(RetentionPropertiesTest.keepsStrangers()));
        return one.list().ofMinSize(1).ofMaxSize(4).map(RetentionPolicy::allOf);
    }

    /**
     * A user rule that keeps an arbitrary subset (fixed per seed and backup id), ignoring every
     * convention: verified or not, chains, logs.
     */
    static RetentionPolicy randomSubset(long seed) {
        return (history, now) -> {
            Selection.Builder b = Selection.builder();
            history.backups().forEach(x -> {
                if (new Random(seed ^ x.id().value().hashCode()).nextInt(4) == 0) {
                    b.keep(x.id(), "custom");
                }
            });
            return b.build();
        };
    }

    /** A user rule that keeps backups that do not exist. */
    static RetentionPolicy keepsStrangers() {
        return (history, now) -> Selection.builder()
                .keep(BackupId.parse("19700101T000000Z-logical-zzzzzz"), "a stranger").build();
    }

    private static RetentionPlan plan(RetentionPolicy p, Scenario s) {
        // the scenario's seed picks the log retention mode and what rules count, so every property
        // covers each
        LogRetention mode = (s.seed() & 1) == 0 ? LogRetention.CONTIGUOUS : LogRetention.NEEDED;
        RetentionPlanner.Builder b = RetentionPlanner.builder().policy(p).tiers(TIERS).logRetention(mode);
        if (countsOnlyVerified(s)) {
            b.countingOnlyVerified();
        }
        return b.build().plan(s.history(), s.now());
    }

    private static boolean countsOnlyVerified(Scenario s) {
        return (s.seed() & 2) != 0;
    }

    /** The backups the planner's rules count in scenario {@code s}. */
    private static List<BackupRecord> counted(Scenario s) {
        return countsOnlyVerified(s) ? s.history().verified() : s.history().usable();
    }

    @Property(tries = 400, seed = "20261121")
    void neverDeletesTheNewestVerifiedBackup(@ForAll("scenarios") Scenario s, @ForAll("policies") RetentionPolicy p) {
        RetentionPlan plan = plan(p, s);
        s.history().newestVerified().ifPresent(r -> assertThat(plan.kept()).contains(r.id()));
        assertThat(plan.keepsAVerifiedBackup()).isEqualTo(s.history().newestVerified().isPresent());
    }

    @Property(tries = 300, seed = "20261121")
    void warns_exactlyWhenABackupWasNeverVerified_orNoneWasVerifiedInAWeek(@ForAll("scenarios") Scenario s,
                                                                       @ForAll("policies") RetentionPolicy p) {
        RetentionPlan plan = plan(p, s);
        long never = s.history().backups().stream().filter(r -> r.status() == BackupStatus.UNVERIFIED).count();
        boolean stale = !s.history().backups().isEmpty() && s.history().newestVerified()
                .map(r -> r.finishedAt().isBefore(s.now().minus(Duration.ofDays(7)))).orElse(true);

        assertThat(plan.warnings().stream().filter(w -> w.contains("never been verified")).toList())
                .hasSize(never > 0 ? 1 : 0)
                .allSatisfy(w -> assertThat(w).startsWith(never + " of " + s.history().backups().size() + " backups"));
        assertThat(plan.warnings().stream().anyMatch(w -> w.startsWith("no verified backup in the last 7d"))).isEqualTo(stale);
    }

    @Property(tries = 400, seed = "20261121")
    void neverDeletesADependencyOfAKeptBackup(@ForAll("scenarios") Scenario s, @ForAll("policies") RetentionPolicy p) {
        RetentionPlan plan = plan(p, s);
        Set<BackupId> kept = plan.kept();
        for (BackupId id : kept) {
            BackupRecord r = s.history().get(id).orElseThrow();
            r.parent().filter(pid -> s.history().get(pid).isPresent()).ifPresent(pid -> assertThat(kept).contains(pid));
            r.requiredLogs().ifPresent(need -> {
                for (LogSegment seg : plan.logsToDelete()) {
                    assertThat(overlaps(seg.range(), need)).as("deleted %s needed by kept %s", seg.key(), id).isFalse();
                }
            });
        }
        for (BackupRecord r : s.history().backups()) {
            if (r.pinned() || r.legalHold()) {
                assertThat(kept).contains(r.id());
            }
        }
    }

    @Property(tries = 300, seed = "20261121")
    void recoveryWindow_keepsABaseAtOrBeforeItsStartAndEveryLogFromThere(
            @ForAll("scenarios") Scenario s, @ForAll("policies") RetentionPolicy other) {
        Duration window = Duration.ofDays(3);
        RetentionPlan plan = plan(RetentionPolicy.keepRecoveryWindow(window).and(other), s);
        Instant start = s.now().minus(window);
        for (String stream : List.of("wal/1", "wal/2")) {
            List<BackupRecord> candidates = counted(s).stream()
                    .filter(r -> r.requiredLogs().map(l -> l.stream().equals(stream)).orElse(false)).toList();
            if (candidates.isEmpty()) {
                continue;
            }
            Instant latestUsable = candidates.get(0).finishedAt().isAfter(start) ? candidates.get(0).finishedAt() : start;
            BackupRecord base = candidates.stream().filter(r -> plan.kept().contains(r.id()))
                    .filter(r -> !r.finishedAt().isAfter(latestUsable)).reduce((a, b) -> b).orElse(null);
            assertThat(base).as("a kept base for %s at or before %s", stream, latestUsable).isNotNull();
            long from = base.requiredLogs().orElseThrow().start();
            for (LogSegment seg : plan.logsToDelete()) {
                if (seg.range().stream().equals(stream)) {
                    assertThat(seg.range().end()).as("deleted %s inside the window", seg.key()).isLessThanOrEqualTo(from);
                }
            }
        }
    }

    @Property(tries = 300, seed = "20261121")
    void isIdempotent_planningAgainAfterExecutingDeletesNothing(@ForAll("scenarios") Scenario s, @ForAll("policies") RetentionPolicy p) {
        RetentionPlan first = plan(p, s);
        Scenario after = new Scenario(Scenario.after(s.history(), first), s.now(), s.zone(), s.seed());

        RetentionPlan second = plan(p, after);

        assertThat(second.deleted()).isEmpty();
        assertThat(second.logsToDelete()).isEmpty();
        assertThat(second.tierMoves()).isEmpty();
    }

    @Property(tries = 300, seed = "20261121")
    void addingARule_neverDeletesMore(@ForAll("scenarios") Scenario s, @ForAll("policies") RetentionPolicy p,
                                      @ForAll("policies") RetentionPolicy q) {
        RetentionPlan alone = plan(p, s);
        RetentionPlan more = plan(p.and(q), s);

        assertThat(alone.deleted()).containsAll(more.deleted());
        assertThat(alone.logsToDelete()).containsAll(more.logsToDelete());
    }

    @Property(tries = 300, seed = "20261121")
    void aUnion_keepsEverythingEachRuleKeeps(@ForAll("scenarios") Scenario s, @ForAll("policies") RetentionPolicy p,
                                            @ForAll("policies") RetentionPolicy q) {
        Selection union = p.and(q).select(s.history(), s.now());
        Selection sp = p.select(s.history(), s.now());
        Selection sq = q.select(s.history(), s.now());
        assertThat(union.backups().keySet()).containsAll(sp.backups().keySet()).containsAll(sq.backups().keySet());
        Set<BackupId> both = new HashSet<>(sp.backups().keySet());
        both.addAll(sq.backups().keySet());
        assertThat(union.backups().keySet()).isEqualTo(both);
        assertThat(plan(p.and(q), s).kept()).containsAll(plan(p, s).kept()).containsAll(plan(q, s).kept());
    }

    @Property(tries = 200, seed = "20261121")
    void isPure_sameInputSamePlan(@ForAll("scenarios") Scenario s, @ForAll("policies") RetentionPolicy p) {
        RetentionPlan a = plan(p, s);
        RetentionPlan b = plan(p, s);
        assertThat(a.toTable()).isEqualTo(b.toTable());
        assertThat(a.kept()).isEqualTo(b.kept());
    }

    @Property(tries = 300, seed = "20261121")
    void calendarBuckets_acrossDaylightSavingAndYearEnds_holdOneNewestBackupEach(@ForAll("scenarios") Scenario s) {
        ZoneId z = s.zone();
        // the rules alone, as a user calls them: they count every backup whose validation did not fail
        List<BackupRecord> usable = s.history().usable();
        // oracles independent of the rule's own bucket names: zones here have whole-hour offsets
        checkOnePerBucket(RetentionPolicy.keepHourly(Integer.MAX_VALUE, z), s, usable,
                r -> Long.toString(r.startedAt().getEpochSecond() / 3600));
        checkOnePerBucket(RetentionPolicy.keepDaily(Integer.MAX_VALUE, z), s, usable,
                r -> r.startedAt().atZone(z).toLocalDate().toString());
        checkOnePerBucket(RetentionPolicy.keepWeekly(Integer.MAX_VALUE, z), s, usable,
                r -> r.startedAt().atZone(z).toLocalDate().with(java.time.DayOfWeek.MONDAY).toString());
        checkOnePerBucket(RetentionPolicy.keepMonthly(Integer.MAX_VALUE, z), s, usable,
                r -> java.time.YearMonth.from(r.startedAt().atZone(z)).toString());
        checkOnePerBucket(RetentionPolicy.keepYearly(Integer.MAX_VALUE, z), s, usable,
                r -> Integer.toString(r.startedAt().atZone(z).getYear()));
    }

    private static void checkOnePerBucket(RetentionPolicy rule, Scenario s, List<BackupRecord> counted,
                                          java.util.function.Function<BackupRecord, String> bucket) {
        Selection sel = rule.select(s.history(), s.now());
        java.util.Map<String, BackupRecord> newest = new java.util.HashMap<>();
        for (BackupRecord r : counted) {
            newest.merge(bucket.apply(r), r, (a, b) -> b.startedAt().compareTo(a.startedAt()) >= 0 ? b : a);
        }
        assertThat(sel.backups().keySet()).as(rule.toString())
                .containsExactlyInAnyOrderElementsOf(newest.values().stream().map(BackupRecord::id).toList());
    }

    private static boolean overlaps(LogRange a, LogRange b) {
        return a.stream().equals(b.stream()) && a.start() < b.end() && b.start() < a.end();
    }
}
