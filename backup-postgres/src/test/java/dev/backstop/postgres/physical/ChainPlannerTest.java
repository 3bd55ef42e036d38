package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.ConsistencyPoint;
import dev.backstop.core.Digest;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChainPlannerTest {
    static final String SYSTEM = "7301234567890123456";
    static final String SERVER = "10.0.0.1:5432";
    final Random random = new Random(7);
    final List<Manifest> repo = new ArrayList<>();
    Instant clock = Instant.parse("2026-12-01T00:00:00Z");

    Manifest add(BackupLevel level, Manifest parent, String system, String timeline, boolean hints) {
        return add(level, parent, system, timeline, hints, SERVER);
    }

    Manifest add(BackupLevel level, Manifest parent, String system, String timeline, boolean hints, String server) {
        clock = clock.plusSeconds(3600);
        int chain = parent == null ? 1 : ChainPlanner.chainLength(parent) + 1;
        Manifest.Builder b = Manifest.builder(BackupId.generate(clock, BackupType.PHYSICAL, random))
                .startedAt(clock).finishedAt(clock.plusSeconds(60))
                .source(new SourceInfo("postgresql", "15.10", Map.of("host", server)))
                .consistency(ConsistencyPoint.of(Map.of(BaseBackupSource.SYSTEM_IDENTIFIER, system, BaseBackupSource.TIMELINE,
                        timeline, BaseBackupSource.START_LSN, "0/" + Long.toHexString(clock.getEpochSecond()))))
                .attributes(Map.of(ChainPlanner.LEVEL, level.label(), ChainPlanner.CHAIN_LENGTH, Integer.toString(chain),
                        ChainPlanner.HINTS_LOGGED, Boolean.toString(hints)))
                .addObject(object(BaseBackupSource.STREAM)).addObject(object(ChainPlanner.MANIFEST_STREAM));
        if (parent != null) {
            b.parent(parent.id());
        }
        Manifest m = b.build();
        repo.add(m);
        return m;
    }

    Manifest add(BackupLevel level, Manifest parent) {
        return add(level, parent, SYSTEM, "1", true);
    }

    static StoredObject object(String name) {
        Digest d = Digest.sha256(name.getBytes());
        return new StoredObject(name, "backups/x/" + name, 1, d, 1, d, List.of());
    }

    ChainPlanner.Plan plan(BackupLevel level, BackupId parent, int limit) throws CaptureFailedException {
        return ChainPlanner.plan(repo, level, parent, limit, SYSTEM, 1, SERVER);
    }

    @Test
    void incr_buildsOnTheNewestBackupAndDiffOnTheNewestFull() throws Exception {
        Manifest full = add(BackupLevel.FULL, null);
        Manifest incr = add(BackupLevel.INCR, full);
        Manifest diff = add(BackupLevel.DIFF, full);

        ChainPlanner.Plan i = plan(BackupLevel.INCR, null, 7);
        assertThat(i.level()).isEqualTo(BackupLevel.INCR);
        assertThat(i.parent().id()).isEqualTo(diff.id());
        assertThat(i.chainLength()).isEqualTo(3);

        ChainPlanner.Plan d = plan(BackupLevel.DIFF, null, 7);
        assertThat(d.level()).isEqualTo(BackupLevel.DIFF);
        assertThat(d.parent().id()).isEqualTo(full.id());
        assertThat(d.chainLength()).isEqualTo(2);
        assertThat(incr.parent()).contains(full.id());
    }

    @Test
    void incr_pastTheChainLimit_isTakenFullAndSaysWhy() throws Exception {
        Manifest m = add(BackupLevel.FULL, null);
        for (int i = 0; i < 2; i++) {
            m = add(BackupLevel.INCR, m);
        }
        ChainPlanner.Plan p = plan(BackupLevel.INCR, null, 3);
        assertThat(p.level()).isEqualTo(BackupLevel.FULL);
        assertThat(p.parent()).isNull();
        assertThat(p.reason()).contains("chain of 4").contains("limit of 3").contains(m.id().value());
        assertThat(plan(BackupLevel.INCR, null, 4).level()).isEqualTo(BackupLevel.INCR);
    }

    @Test
    void incr_withNothingToBuildOn_isTakenFull() throws Exception {
        ChainPlanner.Plan p = plan(BackupLevel.INCR, null, 7);
        assertThat(p.level()).isEqualTo(BackupLevel.FULL);
        assertThat(p.reason()).contains("no earlier");
    }

    @Test
    void incr_onAParentOfAnotherCluster_isRefusedNamingBothSystemIdentifiers() {
        add(BackupLevel.FULL, null, "6999999999999999999", "1", true);
        assertThatThrownBy(() -> plan(BackupLevel.INCR, null, 7)).isInstanceOf(CaptureFailedException.class)
                .hasMessageContaining("6999999999999999999").hasMessageContaining(SYSTEM);
    }

    @Test
    void incr_onAParentOfAnotherTimeline_isRefusedNamingBoth() {
        add(BackupLevel.FULL, null, SYSTEM, "2", true);
        assertThatThrownBy(() -> plan(BackupLevel.INCR, null, 7)).isInstanceOf(CaptureFailedException.class)
                .hasMessageContaining("timeline 2").hasMessageContaining("timeline 1");
    }

    @Test
    void incr_onAnExplicitParentThatIsGone_isRefusedNamingIt() {
        Manifest full = add(BackupLevel.FULL, null);
        repo.clear();
        assertThatThrownBy(() -> plan(BackupLevel.INCR, full.id(), 7)).isInstanceOf(CaptureFailedException.class)
                .hasMessageContaining(full.id().value()).hasMessageContaining("not in the repository");
    }

    @Test
    void diff_onAnExplicitIncrement_isRefused() {
        Manifest full = add(BackupLevel.FULL, null);
        Manifest incr = add(BackupLevel.INCR, full);
        assertThatThrownBy(() -> plan(BackupLevel.DIFF, incr.id(), 7)).isInstanceOf(CaptureFailedException.class)
                .hasMessageContaining("must be a full backup");
    }

    @Test
    void incr_onABackupTakenWithoutHintLogging_isTakenFull() throws Exception {
        add(BackupLevel.FULL, null, SYSTEM, "1", false);
        ChainPlanner.Plan p = plan(BackupLevel.INCR, null, 7);
        assertThat(p.level()).isEqualTo(BackupLevel.FULL);
        assertThat(p.reason()).contains("wal_log_hints");
    }

    @Test
    void incr_neverBuildsOnABackupOfAnotherServer_andRefusesOneGivenNamingBoth() throws Exception {
        Manifest primary = add(BackupLevel.FULL, null);
        Manifest standby = add(BackupLevel.FULL, null, SYSTEM, "1", true, "10.0.0.2:5432");
        ChainPlanner.Plan p = plan(BackupLevel.INCR, null, 7);
        assertThat(p.parent().id()).as("the newest backup of this server").isEqualTo(primary.id());
        assertThatThrownBy(() -> plan(BackupLevel.INCR, standby.id(), 7)).isInstanceOf(CaptureFailedException.class)
                .hasMessageContaining("10.0.0.2:5432").hasMessageContaining(SERVER);
    }

    @Test
    void full_requested_hasNoParent() throws Exception {
        add(BackupLevel.FULL, null);
        ChainPlanner.Plan p = plan(BackupLevel.FULL, null, 7);
        assertThat(p.level()).isEqualTo(BackupLevel.FULL);
        assertThat(p.parent()).isNull();
        assertThat(p.chainLength()).isEqualTo(1);
    }
}
