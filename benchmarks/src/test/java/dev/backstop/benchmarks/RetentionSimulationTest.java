package dev.backstop.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.retention.LogRetention;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RetentionSimulationTest {
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    private static RetentionSimulation.Settings settings(int days, RetentionPlanner planner, double failRate) {
        return new RetentionSimulation.Settings(days, Duration.ofDays(1), LocalTime.of(2, 0), LocalTime.of(4, 0), BERLIN,
                planner, 1L << 30, 0.1, 240L << 20, failRate, 42);
    }

    @Test
    void keepLast7_dailyBackups_settlesAtSevenBackupsAndSevenDaysOfLogs() {
        List<RetentionSimulation.Day> days = RetentionSimulation.run(settings(60, RetentionPlanner.of(RetentionPolicy.keepLast(7)), 0));

        assertThat(days).hasSize(60);
        assertThat(days.subList(7, 60)).allSatisfy(d -> {
            assertThat(d.backups()).isEqualTo(7);
            assertThat(d.oldestRestorePoint()).isBetween(Duration.ofDays(6), Duration.ofDays(7));
            assertThat(d.pitrReach()).isEqualTo(d.oldestRestorePoint());
        });
    }

    @Test
    void logRetentionNeeded_keepsLessLogThanContiguous_yetTheRecoveryWindowHolds() {
        RetentionPolicy policy = RetentionPolicy.keepDaily(7, BERLIN).and(RetentionPolicy.keepMonthly(6, BERLIN))
                .and(RetentionPolicy.keepRecoveryWindow(Duration.ofDays(3)));
        List<RetentionSimulation.Day> contiguous = RetentionSimulation.run(settings(200, RetentionPlanner.of(policy), 0.05));
        List<RetentionSimulation.Day> needed = RetentionSimulation.run(settings(200,
                RetentionPlanner.builder().policy(policy).logRetention(LogRetention.NEEDED).build(), 0.05));

        for (int i = 0; i < 200; i++) {
            assertThat(needed.get(i).logBytes()).isLessThanOrEqualTo(contiguous.get(i).logBytes());
            assertThat(needed.get(i).backups()).isEqualTo(contiguous.get(i).backups());
        }
        assertThat(needed.get(199).logBytes()).isLessThan(contiguous.get(199).logBytes() / 10);
        assertThat(needed.subList(10, 200)).allSatisfy(d -> assertThat(d.pitrReach()).isGreaterThanOrEqualTo(Duration.ofDays(3)));
    }

    @Test
    void run_isDeterministicForASeed() {
        RetentionPlanner p = RetentionPlanner.of(RetentionPolicy.keepDaily(5, BERLIN));
        assertThat(RetentionSimulation.run(settings(40, p, 0.2))).isEqualTo(RetentionSimulation.run(settings(40, p, 0.2)));
    }

    @Test
    void print_showsAReportRowEveryNthDayAndASummary() {
        List<RetentionSimulation.Day> days = RetentionSimulation.run(settings(60, RetentionPlanner.of(RetentionPolicy.keepLast(3)), 0));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();

        RetentionSimulator.print(new PrintStream(buf, true, StandardCharsets.UTF_8), days, 30, "last=3", Map.of());

        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(out.lines().filter(l -> l.matches("\\s+\\d+\\s+2026-.*"))).hasSize(2);
        assertThat(out).contains("peak storage").contains("policy last=3");
    }

    @Test
    void policySpec_parsesEveryRule_andRejectsUnknownOnesByName() {
        assertThat(RetentionSimulator.policy("last=1,atleast=1,hourly=1,daily=1,weekly=1,monthly=1,yearly=1,within=7d,window=PT12H",
                BERLIN)).isNotNull();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RetentionSimulator.policy("forever=1", BERLIN))
                .hasMessageContaining("unknown rule 'forever'");
    }
}
