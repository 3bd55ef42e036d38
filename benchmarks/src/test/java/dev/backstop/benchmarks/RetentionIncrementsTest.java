package dev.backstop.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.benchmarks.RetentionSimulation.Day;
import dev.backstop.benchmarks.RetentionSimulation.Level;
import dev.backstop.benchmarks.RetentionSimulation.Schedule;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;

class RetentionIncrementsTest {
    private static final ZoneId UTC = ZoneId.of("UTC");
    private static final long GIB = 1L << 30;

    static RetentionSimulation.Settings settings(int days, RetentionPolicy policy, double growth, double failRate) {
        return new RetentionSimulation.Settings(days, Duration.ofDays(1), LocalTime.of(2, 0), LocalTime.of(4, 0), UTC,
                RetentionPlanner.of(policy), 10 * GIB, growth, 0, failRate, 7);
    }

    @Provide
    Arbitrary<RetentionPolicy> policies() {
        return Arbitraries.of(RetentionPolicy.keepLast(1), RetentionPolicy.keepLast(3), RetentionPolicy.keepLast(10),
                RetentionPolicy.keepDaily(7, UTC).and(RetentionPolicy.keepWeekly(4, UTC)),
                RetentionPolicy.keepLast(7).and(RetentionPolicy.keepDaily(14, UTC)).and(RetentionPolicy.keepWeekly(8, UTC))
                        .and(RetentionPolicy.keepMonthly(12, UTC)));
    }

    @Provide
    Arbitrary<Level> increments() {
        return Arbitraries.of(Level.INCR, Level.DIFF);
    }

    @Property(tries = 40)
    void withIncrements_noDayHasWrittenMoreThanAllFull_andTheLastHasWrittenLess(@ForAll("policies") RetentionPolicy policy,
            @ForAll("increments") Level level, @ForAll @IntRange(min = 2, max = 10) int fullEvery,
            @ForAll @DoubleRange(min = 0.01, max = 99.9) double change, @ForAll @IntRange(min = 3, max = 50) int days,
            @ForAll @DoubleRange(min = 0, max = 0.3) double failRate) {
        RetentionSimulation.Settings s = settings(days, policy, 0.2, failRate);
        List<Day> full = RetentionSimulation.run(s);
        List<Day> incr = RetentionSimulation.run(s, new Schedule(level, fullEvery, change));

        for (int i = 0; i < days; i++) {
            assertThat(incr.get(i).writtenBytes()).as("day %d", i + 1).isLessThanOrEqualTo(full.get(i).writtenBytes());
        }
        assertThat(incr.get(days - 1).writtenBytes()).isLessThan(full.get(days - 1).writtenBytes());
    }

    @Property(tries = 40)
    void withIncrements_whenNothingExpires_noDayStoresMoreThanAllFull(@ForAll("increments") Level level,
            @ForAll @IntRange(min = 1, max = 10) int fullEvery, @ForAll @DoubleRange(min = 0, max = 99.9) double change,
            @ForAll @IntRange(min = 1, max = 50) int days) {
        RetentionSimulation.Settings s = settings(days, RetentionPolicy.keepWithin(Duration.ofDays(days + 2)), 0.2, 0);
        List<Day> full = RetentionSimulation.run(s);
        List<Day> incr = RetentionSimulation.run(s, new Schedule(level, fullEvery, change));

        for (int i = 0; i < days; i++) {
            assertThat(incr.get(i).backupBytes()).as("day %d", i + 1).isLessThanOrEqualTo(full.get(i).backupBytes());
        }
    }

    @Property(tries = 40)
    void everyKeptBackup_keepsItsWholeChain_noLongerThanTheSchedulesLimit(@ForAll("policies") RetentionPolicy policy,
            @ForAll("increments") Level level, @ForAll @IntRange(min = 1, max = 10) int fullEvery,
            @ForAll @DoubleRange(min = 0, max = 100) double change, @ForAll @IntRange(min = 1, max = 60) int days,
            @ForAll @DoubleRange(min = 0, max = 0.3) double failRate) {
        List<Day> run = RetentionSimulation.run(settings(days, policy, 0.1, failRate), new Schedule(level, fullEvery, change));

        assertThat(run).allSatisfy(d -> {
            assertThat(d.brokenChains()).isZero();
            assertThat(d.longestChain()).isBetween(1, level == Level.INCR ? fullEvery : Math.min(2, fullEvery));
        });
    }

    @Example
    void incrementBytes_areTheShareOfPagesChangedSinceTheParent() {
        assertThat(RetentionSimulation.incrementBytes(10_000, 5, Duration.ofDays(1))).isEqualTo(500);
        assertThat(RetentionSimulation.incrementBytes(10_000, 5, Duration.ofDays(2))).as("1 - 0.95^2 = 9.75 %").isEqualTo(975);
        assertThat(RetentionSimulation.incrementBytes(10_000, 5, Duration.ofHours(12))).as("1 - 0.95^0.5").isEqualTo(253);
        assertThat(RetentionSimulation.incrementBytes(1000, 0, Duration.ofDays(3))).isZero();
        assertThat(RetentionSimulation.incrementBytes(1000, 100, Duration.ofDays(1))).isEqualTo(1000);
    }

    @Example
    void twoWeeksOfDailyBackups_withAFullEverySeven_writeTwoFullsAndTwelveIncrementsOrDiffs() {
        RetentionSimulation.Settings s = settings(14, RetentionPolicy.keepWithin(Duration.ofDays(30)), 0, 0);
        long f = 10 * GIB;

        Day incr = RetentionSimulation.run(s, new Schedule(Level.INCR, 7, 5)).get(13);
        Day diff = RetentionSimulation.run(s, new Schedule(Level.DIFF, 7, 5)).get(13);
        Day full = RetentionSimulation.run(s).get(13);

        assertThat(full.writtenBytes()).isEqualTo(14 * f).isEqualTo(full.backupBytes());
        assertThat(incr.writtenBytes()).isEqualTo(2 * f + 12 * Math.round(f * 0.05)).isEqualTo(incr.backupBytes());
        assertThat(incr.longestChain()).isEqualTo(7);
        long diffs = 0;
        for (int k = 1; k <= 6; k++) {
            diffs += RetentionSimulation.incrementBytes(f, 5, Duration.ofDays(k));
        }
        assertThat(diff.writtenBytes()).isEqualTo(2 * f + 2 * diffs);
        assertThat(diff.longestChain()).isEqualTo(2);
    }

    @Example
    void keepLastOne_withAChainOfSeven_keepsTheNewestIncrementsWholeChain_andSoStoresMoreThanAllFull() {
        RetentionSimulation.Settings s = settings(14, RetentionPolicy.keepLast(1), 0, 0);

        Day incr = RetentionSimulation.run(s, new Schedule(Level.INCR, 7, 5)).get(13);
        Day full = RetentionSimulation.run(s).get(13);

        assertThat(full.backups()).isEqualTo(1);
        assertThat(incr.backups()).as("the 6th increment of the second chain, its full and five increments before it").isEqualTo(7);
        assertThat(incr.longestChain()).isEqualTo(7);
        assertThat(incr.backupBytes()).isGreaterThan(full.backupBytes());
    }

    @Example
    void schedule_refusesAChainLimitOrChangeRateOutOfRange() {
        assertThatThrownBy(() -> new Schedule(Level.INCR, 0, 5)).hasMessageContaining("fullEvery: got 0, must be 1..100");
        assertThatThrownBy(() -> new Schedule(Level.INCR, 7, 101)).hasMessageContaining("changePercentPerDay: got 101.0");
    }

    @Example
    void printComparison_showsEachScheduleWithItsChain_andPeaksRelativeToAllFull() {
        RetentionSimulation.Settings s = settings(60, RetentionPolicy.keepLast(7).and(RetentionPolicy.keepWeekly(4, UTC)), 0, 0);
        Map<String, List<Day>> runs = new LinkedHashMap<>();
        runs.put("all full", RetentionSimulation.run(s));
        runs.put("full+incr", RetentionSimulation.run(s, new Schedule(Level.INCR, 7, 5)));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();

        RetentionSimulator.printComparison(new PrintStream(buf, true, StandardCharsets.UTF_8), runs, 30, 5, 7);

        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("5.0 % of pages changed per day").contains("all full").contains("full+incr");
        assertThat(out.lines().filter(l -> l.matches("\\s+\\d+\\s+2026-.*"))).hasSize(2);
        assertThat(out).containsPattern("all full\\s+peak stored .*\\(1\\.00x\\)");
        assertThat(out).containsPattern("full\\+incr\\s+peak stored .*longest chain 7");
    }
}
