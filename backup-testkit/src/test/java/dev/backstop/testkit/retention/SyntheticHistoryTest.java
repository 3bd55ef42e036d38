package dev.backstop.testkit.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.retention.BackupHistory;
import dev.backstop.core.retention.BackupRecord;
import dev.backstop.core.retention.BackupStatus;
import dev.backstop.core.retention.RetentionPlan;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticHistoryTest {
    private static final Instant NOW = Instant.parse("2026-11-21T02:00:00Z");

    @Test
    void dailyWithAWeeklyDrill_hasThreeVerifiedBackups_theNewestAndEverySeventhBeforeIt() {
        List<BackupRecord> rs = SyntheticHistory.daily(21).endingAt(NOW).verifiedEvery(7).records();

        assertThat(rs).hasSize(21);
        assertThat(rs.get(20).startedAt()).isEqualTo(NOW);
        assertThat(rs.get(0).startedAt()).isEqualTo(NOW.minus(Duration.ofDays(20)));
        assertThat(rs.get(0).id().value()).isEqualTo("20261101T020000Z-logical-00000k");
        assertThat(rs).filteredOn(BackupRecord::verified).extracting(BackupRecord::startedAt)
                .containsExactly(NOW.minus(Duration.ofDays(14)), NOW.minus(Duration.ofDays(7)), NOW);
    }

    @Test
    void keepDaily14_onThreeWeeksWithAWeeklyDrill_keepsFourteen_andWarnsAboutTheUnverified() {
        BackupHistory h = SyntheticHistory.daily(21).endingAt(NOW).verifiedEvery(7).build();

        RetentionPlan plan = RetentionPlanner.of(RetentionPolicy.keepDaily(14, ZoneOffset.UTC)).plan(h, NOW.plusSeconds(3600));

        assertThat(plan.kept()).hasSize(14);
        assertThat(plan.deleted()).hasSize(7);
        assertThat(plan.warnings()).singleElement().asString().startsWith("18 of 21 backups have never been verified");
    }

    @Test
    void noneVerified_theDryRunWarns() {
        BackupHistory h = SyntheticHistory.daily(5).endingAt(NOW).build();

        RetentionPlan plan = RetentionPlanner.of(RetentionPolicy.keepLast(3)).plan(h, NOW.plusSeconds(3600));

        assertThat(plan.kept()).hasSize(3);
        assertThat(plan.toTable()).contains("WARNING: 5 of 5 backups have never been verified")
                .contains("WARNING: no verified backup in the last 7d (no backup has ever been verified)");
    }

    @Test
    void failedWinsOverVerified_andPositionsOutsideTheHistoryAreRefused() {
        List<BackupRecord> rs = SyntheticHistory.hourly(3).endingAt(NOW).allVerified().failed(1).records();
        assertThat(rs).extracting(BackupRecord::status)
                .containsExactly(BackupStatus.VERIFIED, BackupStatus.FAILED, BackupStatus.VERIFIED);
        assertThatThrownBy(() -> SyntheticHistory.daily(3).verified(3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside 0..2");
        assertThatThrownBy(() -> SyntheticHistory.daily(3).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("endingAt");
    }
}
