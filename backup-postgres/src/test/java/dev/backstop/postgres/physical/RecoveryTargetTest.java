package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class RecoveryTargetTest {

    @Test
    void time_isWrittenInUtcToTheMicrosecond_andPromotes() {
        assertThat(RecoveryTarget.time(Instant.parse("2026-11-21T07:09:14.123456Z"), true).settings())
                .containsEntry("recovery_target_time", "2026-11-21 07:09:14.123456+00")
                .containsEntry("recovery_target_inclusive", "true")
                .containsEntry("recovery_target_action", "promote");
    }

    @Test
    void lsnXidAndRestorePoint_becomeTheirSettings() {
        assertThat(RecoveryTarget.lsn(0x1_0300_0028L, false).settings()).containsEntry("recovery_target_lsn", "1/3000028")
                .containsEntry("recovery_target_inclusive", "false");
        assertThat(RecoveryTarget.xid(1234, true).settings()).containsEntry("recovery_target_xid", "1234");
        assertThat(RecoveryTarget.restorePoint("before-migration").settings()).containsEntry("recovery_target_name", "before-migration");
    }

    @Test
    void latestNeedsTheArchive_consistentDoesNot() {
        assertThat(RecoveryTarget.latest().settings()).isEmpty();
        assertThat(RecoveryTarget.latest().needsArchive()).isTrue();
        assertThat(RecoveryTarget.consistent().needsArchive()).isFalse();
    }

    @Test
    void then_replacesPromotionWithPauseOrShutdown_andPromoteUndoesIt() {
        RecoveryTarget point = RecoveryTarget.restorePoint("before-migration");
        assertThat(point.action()).isEqualTo(RecoveryTarget.Action.PROMOTE);
        RecoveryTarget paused = point.then(RecoveryTarget.Action.PAUSE);
        assertThat(paused.settings()).containsEntry("recovery_target_name", "before-migration")
                .containsEntry("recovery_target_action", "pause");
        assertThat(paused.action()).isEqualTo(RecoveryTarget.Action.PAUSE);
        assertThat(paused.then(RecoveryTarget.Action.SHUTDOWN).settings()).containsEntry("recovery_target_action", "shutdown");
        assertThat(paused.then(RecoveryTarget.Action.PROMOTE)).isEqualTo(point);
        assertThat(RecoveryTarget.xid(1234, false).then(RecoveryTarget.Action.SHUTDOWN).settings())
                .containsEntry("recovery_target_xid", "1234").containsEntry("recovery_target_inclusive", "false");
        assertThatThrownBy(() -> RecoveryTarget.latest().then(RecoveryTarget.Action.PAUSE)).hasMessageContaining("needs a target");
    }

    @Test
    void badTargets_nameTheBound() {
        assertThatThrownBy(() -> RecoveryTarget.xid(2, true)).hasMessageContaining("got 2");
        assertThatThrownBy(() -> RecoveryTarget.restorePoint("")).hasMessageContaining("1..63");
    }
}
