package dev.backstop.core.retention;

import static dev.backstop.core.retention.Backups.local;
import static dev.backstop.core.retention.Backups.verified;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.LogRange;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageTier;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RetentionPlannerTest {
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    private static final ZoneId NEW_YORK = ZoneId.of("America/New_York");

    @Test
    void keepHourly_onTheNightClocksGoBack_keepsBothRealHoursThatShowTwoOClock() {
        // 2026-10-25 in Berlin: 02:00-03:00 happens twice, first at +02:00, then at +01:00
        Instant first = Instant.parse("2026-10-25T00:30:00Z");  // 02:30+02:00
        Instant second = Instant.parse("2026-10-25T01:30:00Z"); // 02:30+01:00
        BackupRecord a = verified(first);
        BackupRecord b = verified(second);
        BackupHistory h = BackupHistory.of(List.of(a, b));

        Selection hourly = RetentionPolicy.keepHourly(24, BERLIN).select(h, second.plusSeconds(3600));
        Selection daily = RetentionPolicy.keepDaily(24, BERLIN).select(h, second.plusSeconds(3600));

        assertThat(hourly.backups().keySet()).containsExactly(a.id(), b.id());
        assertThat(hourly.reasons(a.id())).containsExactly("newest hourly for 2026-10-25 02:00+02:00 (Europe/Berlin)");
        assertThat(hourly.reasons(b.id())).containsExactly("newest hourly for 2026-10-25 02:00+01:00 (Europe/Berlin)");
        assertThat(daily.backups().keySet()).containsExactly(b.id());
    }

    @Test
    void keepDaily_onTheShortDayClocksGoForward_treatsTheWholeLocalDateAsOneDay() {
        // 2026-03-29 in Berlin has 23 hours
        BackupRecord early = verified(local("2026-03-29T00:30:00", BERLIN));
        BackupRecord late = verified(local("2026-03-29T23:30:00", BERLIN));
        BackupRecord nextDay = verified(local("2026-03-30T00:10:00", BERLIN));
        BackupHistory h = BackupHistory.of(List.of(early, late, nextDay));

        Selection s = RetentionPolicy.keepDaily(5, BERLIN).select(h, local("2026-03-31T00:00:00", BERLIN));

        assertThat(s.backups().keySet()).containsExactlyInAnyOrder(late.id(), nextDay.id());
    }

    @Test
    void keepYearly_inNewYork_putsNewYearsEveLateNightInTheOldYear_thoughItIsJanuaryInUtc() {
        BackupRecord eve = verified(local("2026-12-31T23:30:00", NEW_YORK)); // 2027-01-01T04:30Z
        BackupRecord earlier = verified(local("2026-06-01T12:00:00", NEW_YORK));
        BackupHistory h = BackupHistory.of(List.of(earlier, eve));

        Selection ny = RetentionPolicy.keepYearly(2, NEW_YORK).select(h, eve.startedAt().plusSeconds(60));
        Selection utc = RetentionPolicy.keepYearly(2, ZoneId.of("UTC")).select(h, eve.startedAt().plusSeconds(60));

        assertThat(ny.backups().keySet()).containsExactly(eve.id());
        assertThat(ny.reasons(eve.id())).containsExactly("newest yearly for 2026 (America/New_York)");
        assertThat(utc.backups().keySet()).containsExactlyInAnyOrder(earlier.id(), eve.id());
    }

    @Test
    void keepWeekly_acrossTheYearEnd_usesIsoWeeks() {
        // Thu 2026-12-31 and Fri 2027-01-01 are both in ISO week 2026-W53
        BackupRecord thu = verified(local("2026-12-31T12:00:00", BERLIN));
        BackupRecord fri = verified(local("2027-01-01T12:00:00", BERLIN));
        BackupHistory h = BackupHistory.of(List.of(thu, fri));

        Selection s = RetentionPolicy.keepWeekly(5, BERLIN).select(h, fri.startedAt().plusSeconds(60));

        assertThat(s.backups().keySet()).containsExactly(fri.id());
        assertThat(s.reasons(fri.id())).containsExactly("newest weekly for 2026-W53 (Europe/Berlin)");
    }

    @Test
    void calendarRules_countUnverifiedBackups_butNeverAFailedOne_andTheNewestVerifiedIsKeptBesides() {
        Instant day = local("2026-11-20T03:00:00", BERLIN);
        BackupRecord good = verified(day);
        BackupRecord unverified = BackupRecord.builder(Backups.id(day.plusSeconds(3600))).build();
        BackupRecord failed = BackupRecord.builder(Backups.id(day.plusSeconds(7200))).status(BackupStatus.FAILED).build();
        BackupHistory h = BackupHistory.of(List.of(good, unverified, failed));

        RetentionPlan plan = RetentionPlanner.builder().policy(RetentionPolicy.keepDaily(1, BERLIN))
                .failedGrace(Duration.ZERO).build()
                .plan(h, day.plus(Duration.ofDays(1)));

        assertThat(plan.kept()).containsExactly(good.id(), unverified.id());
        assertThat(plan.decisions().get(0).reasons()).containsExactly(RetentionPlanner.NEWEST_VERIFIED);
        assertThat(plan.decisions().get(1).reasons()).containsExactly("newest daily for 2026-11-20 (Europe/Berlin)");
        assertThat(plan.decisions().get(2).reasons()).containsExactly("failed validation more than 0d ago");
    }

    @Test
    void countingOnlyVerified_isOptIn_andIgnoresUnverifiedBackupsAfterTheirGrace() {
        Instant day = local("2026-11-20T03:00:00", BERLIN);
        BackupRecord good = verified(day);
        BackupRecord unverified = BackupRecord.builder(Backups.id(day.plusSeconds(3600))).build();
        BackupRecord failed = BackupRecord.builder(Backups.id(day.plusSeconds(7200))).status(BackupStatus.FAILED).build();
        BackupHistory h = BackupHistory.of(List.of(good, unverified, failed));

        RetentionPlan plan = RetentionPlanner.builder().policy(RetentionPolicy.keepDaily(1, BERLIN)).countingOnlyVerified()
                .unverifiedGrace(Duration.ZERO).failedGrace(Duration.ZERO).build()
                .plan(h, day.plus(Duration.ofDays(1)));

        assertThat(plan.kept()).containsExactly(good.id());
        assertThat(plan.decisions().get(0).reasons()).containsExactly("newest daily for 2026-11-20 (Europe/Berlin)",
                RetentionPlanner.NEWEST_VERIFIED);
        assertThat(plan.decisions().get(1).reasons()).containsExactly("unverified for more than 0d and no rule keeps it");
        assertThat(plan.warnings()).contains("1 of 3 backups have never been verified (rules do not count them); "
                + "Restore.verify(backup) or a restore drill verifies one");
        assertThatThrownBy(() -> RetentionPlanner.builder().policy(RetentionPolicy.keepDaily(1, BERLIN))
                .unverifiedGrace(Duration.ZERO).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("countingOnlyVerified()");
    }

    @Test
    void keepDaily14_onThreeWeeksOfDailyBackupsWithAWeeklyDrill_keepsFourteenDays_andWarnsAboutTheUnverified() {
        Instant first = Instant.parse("2026-11-01T02:00:00Z");
        List<BackupRecord> bs = new ArrayList<>();
        for (int d = 0; d < 21; d++) {
            // the drill runs weekly on the newest backup: days 6, 13 and 20
            BackupRecord.Builder b = BackupRecord.builder(Backups.id(first.plus(Duration.ofDays(d)), BackupType.LOGICAL, d));
            bs.add((d % 7 == 6 ? b.verified() : b).build());
        }
        BackupHistory h = BackupHistory.of(bs);
        Instant now = first.plus(Duration.ofDays(20)).plus(Duration.ofHours(1));

        RetentionPlan plan = RetentionPlanner.of(RetentionPolicy.keepDaily(14, ZoneId.of("UTC"))).plan(h, now);

        assertThat(plan.kept()).hasSize(14).containsExactlyElementsOf(bs.subList(7, 21).stream().map(BackupRecord::id).toList());
        assertThat(plan.deleted()).hasSize(7);
        assertThat(plan.warnings()).containsExactly("18 of 21 backups have never been verified; Restore.verify(backup) "
                + "or a restore drill verifies one");
        assertThat(plan.decisions().get(20).reasons()).contains(RetentionPlanner.NEWEST_VERIFIED);
    }

    @Test
    void dryRunWithNoVerifiedBackup_warnsAndSaysSince_whenTheNewestVerifiedIsOld() {
        Instant first = Instant.parse("2026-11-01T02:00:00Z");
        List<BackupRecord> none = new ArrayList<>();
        for (int d = 0; d < 5; d++) {
            none.add(BackupRecord.builder(Backups.id(first.plus(Duration.ofDays(d)), BackupType.LOGICAL, 100 + d)).build());
        }
        Instant now = first.plus(Duration.ofDays(20));

        RetentionPlan unverified = RetentionPlanner.of(RetentionPolicy.keepLast(2)).plan(BackupHistory.of(none), now);
        assertThat(unverified.toTable()).contains("WARNING: 5 of 5 backups have never been verified")
                .contains("WARNING: no verified backup in the last 7d (no backup has ever been verified)");

        List<BackupRecord> oldDrill = new ArrayList<>(none);
        oldDrill.set(0, none.get(0).toBuilder().verified().build());
        RetentionPlan stale = RetentionPlanner.builder().policy(RetentionPolicy.keepLast(2))
                .warnIfNoVerifiedBackupWithin(Duration.ofDays(3)).build().plan(BackupHistory.of(oldDrill), now);
        assertThat(stale.warnings()).contains("no verified backup in the last 3d (newest verified: " + none.get(0).id()
                + ", finished " + none.get(0).finishedAt() + ")");

        RetentionPlan fresh = RetentionPlanner.builder().policy(RetentionPolicy.keepLast(2))
                .warnIfNoVerifiedBackupWithin(Duration.ofDays(30)).build().plan(BackupHistory.of(oldDrill), now);
        assertThat(fresh.warnings()).noneMatch(w -> w.startsWith("no verified backup"));
    }

    @Test
    void recoveryWindow_keepsTheNewestBaseBeforeTheWindowAndEveryLogFromIt() {
        Instant t = Instant.parse("2026-11-01T00:00:00Z");
        List<BackupRecord> bs = new ArrayList<>();
        List<LogSegment> logs = new ArrayList<>();
        for (int d = 0; d < 10; d++) {
            bs.add(BackupRecord.builder(Backups.id(t.plus(Duration.ofDays(d)), BackupType.PHYSICAL, d)).verified()
                    .finishedAt(t.plus(Duration.ofDays(d)).plusSeconds(600))
                    .requiredLogs(new LogRange("wal/1", d * 100L, d * 100L + 10)).build());
        }
        for (long p = 0; p < 1100; p += 50) {
            logs.add(new LogSegment("wal/1/" + p, new LogRange("wal/1", p, p + 50), 16));
        }
        BackupHistory h = BackupHistory.of(bs, logs);
        // window start: day 6 12:00, so day 6 (finished 00:10) is the base
        RetentionPlan plan = RetentionPlanner.of(RetentionPolicy.keepRecoveryWindow(Duration.ofDays(3).plusHours(12)))
                .plan(h, t.plus(Duration.ofDays(10)));

        assertThat(plan.kept()).containsExactly(bs.get(6).id(), bs.get(9).id());
        assertThat(plan.logsToDelete()).extracting(s -> s.range().end()).allSatisfy(e -> assertThat(e).isLessThanOrEqualTo(600L));
        assertThat(plan.logsToDelete()).hasSize(12);
        assertThat(plan.decisions().get(6).reasons().get(0)).startsWith("base of recovery window 84h");
    }

    @Test
    void guards_keepParentsOfKeptIncrementals_andWarnAboutMissingOnes() {
        Instant t = Instant.parse("2026-11-01T00:00:00Z");
        BackupRecord full = verified(t);
        BackupRecord inc1 = BackupRecord.builder(Backups.id(t.plusSeconds(3600))).verified().parent(full.id()).build();
        BackupRecord inc2 = BackupRecord.builder(Backups.id(t.plusSeconds(7200))).verified().parent(inc1.id()).build();
        BackupId gone = Backups.id(t.minusSeconds(3600));
        BackupRecord orphan = BackupRecord.builder(Backups.id(t.plusSeconds(100))).verified().parent(gone).pinned(true).build();

        RetentionPlan plan = RetentionPlanner.of(RetentionPolicy.keepLast(1))
                .plan(BackupHistory.of(List.of(full, orphan, inc1, inc2)), t.plus(Duration.ofDays(1)));

        assertThat(plan.kept()).containsExactly(full.id(), orphan.id(), inc1.id(), inc2.id());
        assertThat(plan.decisions().get(0).reasons()).containsExactly("parent of kept " + inc1.id());
        assertThat(plan.warnings()).singleElement().asString().contains(gone.value()).contains("cannot be restored");
    }

    @Test
    void aCustomPolicyThatThrowsOrReturnsNull_failsPlanning_neverDeletes() {
        BackupHistory h = BackupHistory.of(List.of(verified(Instant.parse("2026-11-01T00:00:00Z"))));
        RetentionPolicy throwing = RetentionPolicy.keepLast(3).and(RetentionPolicy.named("mine", (history, now) -> {
            throw new IllegalStateException("boom");
        }));
        RetentionPolicy nulling = (history, now) -> null;

        assertThatThrownBy(() -> RetentionPlanner.of(throwing).plan(h, Instant.parse("2026-12-01T00:00:00Z")))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.stage()).isEqualTo(Stage.RETENTION))
                .hasMessageContaining("boom").hasMessageContaining("nothing is deleted")
                .hasMessageContaining("retention policy keepLast(3).and(mine) failed");
        assertThatThrownBy(() -> RetentionPlanner.of(nulling).plan(h, Instant.parse("2026-12-01T00:00:00Z")))
                .hasMessageContaining("returned null");
    }

    @Test
    void toTable_alignsColumns_andEndsWithTheTotals() {
        Instant t = Instant.parse("2026-11-18T02:00:00Z");
        List<BackupRecord> bs = new ArrayList<>();
        for (int d = 0; d < 3; d++) {
            bs.add(BackupRecord.builder(Backups.id(t.plus(Duration.ofDays(d)), BackupType.PHYSICAL, 10 + d)).verified()
                    .storedBytes(1024L * 1024 * (d + 1)).requiredLogs(new LogRange("wal/1", d * 100L, d * 100L + 5)).build());
        }
        BackupHistory h = BackupHistory.of(bs, List.of(new LogSegment("wal/1/0", new LogRange("wal/1", 0, 100), 4096)));
        RetentionPlanner planner = RetentionPlanner.builder().policy(RetentionPolicy.keepDaily(2, BERLIN))
                .tiers(TierSchedule.startingIn(StorageTier.HOT).then(StorageTier.WARM, Duration.ofDays(1))).build();

        RetentionPlan plan = planner.plan(h, t.plus(Duration.ofDays(2)).plusSeconds(60));
        String table = plan.toTable();

        assertThat(table).isEqualTo("""
                ACTION  BACKUP                            STATUS    SIZE     TIER  REASON
                delete  20261118T020000Z-physical-00000a  verified  1.0 MiB  HOT   deleted: no rule keeps it
                keep    20261119T020000Z-physical-00000b  verified  2.0 MiB  HOT   kept: newest daily for 2026-11-19 (Europe/Berlin)
                keep    20261120T020000Z-physical-00000c  verified  3.0 MiB  HOT   kept: newest daily for 2026-11-20 (Europe/Berlin); newest verified backup (always kept)

                LOG SEGMENT  STREAM  RANGE     SIZE
                wal/1/0      wal/1   [0, 100)  4.0 KiB

                TIER MOVE                         FROM  TO    REASON
                20261119T020000Z-physical-00000b  HOT   WARM  age 1d in schedule HOT -> WARM@1d

                plan at 2026-11-20T02:01:00Z: keep 2, delete 1 of 3 backups; delete 1, keep 0 log segments; 1 tier moves; frees 1.0 MiB
                """);
        assertThat(plan.bytesFreed()).isEqualTo(1024L * 1024 + 4096);
    }

    @Test
    void logRetentionNeeded_expiresLogsBetweenOldKeptBackups_butKeepsTheirOwnRangesAndTheTail() {
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        List<BackupRecord> bs = new ArrayList<>();
        for (int m = 0; m < 3; m++) {
            bs.add(BackupRecord.builder(Backups.id(t.plus(Duration.ofDays(31L * m)), BackupType.PHYSICAL, m)).verified()
                    .requiredLogs(new LogRange("wal/1", m * 1000L, m * 1000L + 50)).build());
        }
        List<LogSegment> logs = new ArrayList<>();
        for (long p = 0; p < 2500; p += 100) {
            logs.add(new LogSegment("wal/1/" + p, new LogRange("wal/1", p, p + 100), 16));
        }
        BackupHistory h = BackupHistory.of(bs, logs);
        Instant now = t.plus(Duration.ofDays(70));

        RetentionPlan contiguous = RetentionPlanner.of(RetentionPolicy.keepMonthly(3, BERLIN)).plan(h, now);
        RetentionPlan needed = RetentionPlanner.builder().policy(RetentionPolicy.keepMonthly(3, BERLIN))
                .logRetention(LogRetention.NEEDED).build().plan(h, now);

        assertThat(contiguous.logsToDelete()).isEmpty();
        // kept: [0,100) for backup 0, [1000,1100) for backup 1, [2000, ...) from the newest on
        assertThat(needed.logsToDelete()).extracting(LogSegment::key).hasSize(18)
                .doesNotContain("wal/1/0", "wal/1/1000", "wal/1/2000", "wal/1/2400").contains("wal/1/100", "wal/1/1900");
    }
}
