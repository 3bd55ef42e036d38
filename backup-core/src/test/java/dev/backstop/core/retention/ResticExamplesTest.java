package dev.backstop.core.retention;

import static dev.backstop.core.retention.Backups.local;
import static dev.backstop.core.retention.Backups.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupId;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The worked examples of restic's "Removing backup snapshots" documentation, replayed: our
 * calendar rules must pick the same backups as {@code restic forget --keep-*}. Restic counts every
 * snapshot, and so do our rules: none of these backups is verified.
 */
class ResticExamplesTest {
    private static final ZoneId ZONE = ZoneOffset.UTC;

    @Test
    void keepDaily4_onTwelveWeeklySundayBackups_keepsTheLastFourSundays() {
        // restic: one backup every Sunday 11:00 from 2019-09-01 to 2019-11-17; forget --keep-daily 4
        List<BackupRecord> sundays = new ArrayList<>();
        for (LocalDate d = LocalDate.of(2019, 9, 1); !d.isAfter(LocalDate.of(2019, 11, 17)); d = d.plusWeeks(1)) {
            sundays.add(snapshot(local(d + "T11:00:00", ZONE)));
        }
        assertThat(sundays).hasSize(12);
        BackupHistory h = BackupHistory.of(sundays);

        RetentionPlan plan = RetentionPlanner.of(RetentionPolicy.keepDaily(4, ZONE)).plan(h, local("2019-11-18T00:00:00", ZONE));

        assertThat(startDates(plan.kept(), h)).containsExactly("2019-10-27", "2019-11-03", "2019-11-10", "2019-11-17");
        assertThat(plan.deleted()).hasSize(8);
        assertThat(plan.decisions().get(11).reasons()).contains("newest daily for 2019-11-17 (Z)");
    }

    @Test
    void keepDaily7Weekly5Monthly12Yearly75_onDailyBackups_keepsWhatResticDocuments() {
        // restic: one backup every day for years; --keep-daily 7 --keep-weekly 5 --keep-monthly 12
        // --keep-yearly 75 keeps 7 dailies, 4 more weeklies (the dailies hold one end of week), 11 or
        // 12 monthlies and 74 or 75 yearlies. 100 years of dailies, ending on Sunday 2025-12-28.
        List<BackupRecord> days = new ArrayList<>();
        LocalDate last = LocalDate.of(2025, 12, 28);
        for (LocalDate d = last.minusYears(100).plusDays(1); !d.isAfter(last); d = d.plusDays(1)) {
            days.add(snapshot(local(d + "T03:00:00", ZONE)));
        }
        BackupHistory h = BackupHistory.of(days);
        RetentionPolicy policy = RetentionPolicy.keepDaily(7, ZONE).and(RetentionPolicy.keepWeekly(5, ZONE))
                .and(RetentionPolicy.keepMonthly(12, ZONE)).and(RetentionPolicy.keepYearly(75, ZONE));

        RetentionPlan plan = RetentionPlanner.of(policy).plan(h, local("2025-12-29T00:00:00", ZONE));

        List<String> kept = startDates(plan.kept(), h);
        // the 7 dailies: Dec 22..28
        assertThat(kept).containsSubsequence("2025-12-22", "2025-12-23", "2025-12-24", "2025-12-25", "2025-12-26",
                "2025-12-27", "2025-12-28");
        // 4 more weeklies, the Sundays that end the ISO weeks before
        assertThat(kept).contains("2025-12-21", "2025-12-14", "2025-12-07", "2025-11-30");
        // monthlies: Dec (a daily), Nov 30 (a weekly) and the last days of Oct back to Jan 2025
        assertThat(kept).contains("2025-01-31", "2025-06-30", "2025-10-31").doesNotContain("2024-12-30");
        // yearlies: 2025 (a daily) and Dec 31 of 2024 back to 1951
        assertThat(kept).contains("1951-12-31", "1999-12-31", "2024-12-31").doesNotContain("1950-12-31");
        // 7 daily + 4 weekly + 10 monthly + 74 yearly
        assertThat(kept).hasSize(7 + 4 + 10 + 74);
    }

    @Test
    void calendarRules_countOnlyBucketsThatHoldABackup() {
        // restic counts days that have a snapshot, not calendar days: a gap does not use up the rule
        BackupHistory h = BackupHistory.of(List.of(
                snapshot(local("2026-01-01T10:00:00", ZONE)),
                snapshot(local("2026-01-05T10:00:00", ZONE)),
                snapshot(local("2026-01-20T10:00:00", ZONE))));

        RetentionPlan plan = RetentionPlanner.of(RetentionPolicy.keepDaily(3, ZONE)).plan(h, local("2026-02-01T00:00:00", ZONE));

        assertThat(plan.deleted()).isEmpty();
    }

    @Test
    void keepDaily_keepsTheNewestBackupOfTheDay() {
        Instant morning = local("2026-11-20T06:00:00", ZoneId.of("Europe/Berlin"));
        Instant evening = local("2026-11-20T22:00:00", ZoneId.of("Europe/Berlin"));
        BackupRecord a = snapshot(morning);
        BackupRecord b = snapshot(evening);
        BackupHistory h = BackupHistory.of(List.of(a, b));

        Selection s = RetentionPolicy.keepDaily(1, ZoneId.of("Europe/Berlin")).select(h, evening.plusSeconds(60));

        assertThat(s.backups().keySet()).containsExactly(b.id());
        assertThat(s.reasons(b.id())).containsExactly("newest daily for 2026-11-20 (Europe/Berlin)");
    }

    private static List<String> startDates(Set<BackupId> ids, BackupHistory h) {
        return ids.stream().map(id -> h.get(id).orElseThrow().startedAt().atZone(ZONE).toLocalDate().toString())
                .sorted().collect(Collectors.toList());
    }
}
