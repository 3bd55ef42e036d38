package dev.backstop.mysql.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.Fingerprints;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.TableFingerprint;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecoveryBuildersTest {
    @TempDir
    Path tmp;

    @Test
    void builders_refuseASettingGivenTwice_andATimeoutOutOfRange() {
        Repository repo = Repository.filesystem(tmp);
        Restore restore = Restore.builder().repository(repo).build();
        BinlogArchive archive = BinlogArchive.builder(repo, "db1", 1).build();

        assertThatThrownBy(() -> BinlogRecovery.builder(restore, archive).workDir(tmp).workDir(tmp))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("workDir: already set");
        assertThatThrownBy(() -> BinlogRecovery.builder(restore, archive).writeBinlog(true).writeBinlog(false))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> BinlogRecovery.builder(restore, archive).timeout(Duration.ZERO))
                .hasMessageContaining("timeout: got PT0S, must be 1 s..7 days");
        assertThatThrownBy(() -> MariaDbPitrDrill.builder(archive, checkpoint()).record(false).record(true))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void checkpoint_roundTripsThroughItsMap_andAMissingEntryIsNamed() {
        RecoveryCheckpoint cp = checkpoint();

        assertThat(RecoveryCheckpoint.fromMap(cp.toMap())).isEqualTo(cp);
        assertThat(cp.target()).isEqualTo(RecoveryTarget.position("binlog.000003", 1234));
        Map<String, String> broken = new HashMap<>(cp.toMap());
        broken.remove("gtid");
        assertThatThrownBy(() -> RecoveryCheckpoint.fromMap(broken)).hasMessage("recovery checkpoint: no entry 'gtid'");
        broken.put("format", "9");
        assertThatThrownBy(() -> RecoveryCheckpoint.fromMap(broken)).hasMessageContaining("format 9, this version reads 1");
    }

    static RecoveryCheckpoint checkpoint() {
        return new RecoveryCheckpoint("binlog.000003", 1234, "0-1-42", 1, Instant.parse("2026-12-07T06:00:00Z"), List.of("shop"),
                new Fingerprints("sha256:ab", Map.of("shop.t", new TableFingerprint(3, "d:0123")),
                        Map.of("table shop.t", "definition:sha256:cd")));
    }
}
