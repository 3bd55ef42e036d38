package dev.backstop.mysql.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.Fingerprints;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.TableFingerprint;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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
        assertThatThrownBy(() -> MariaDbPitrDrill.builder(archive, "no spaces"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("restore point name: got 'no spaces'");
        assertThatThrownBy(() -> RecoveryCheckpoints.builder(MariaDbEndpoint.of("127.0.0.1", 3306, "u", "p"), repo, archive).databases("a")
                .databases("b")).isInstanceOf(IllegalStateException.class).hasMessageContaining("databases: already set");
    }

    @Test
    void checkpoint_comparesItsDatabasesAsOne_withTablesAndObjectsQualifiedByDatabase() {
        RecoveryCheckpoint cp = checkpoint();

        assertThat(cp.target()).isEqualTo(RecoveryTarget.position("binlog.000003", 1234));
        assertThat(cp.databaseNames()).containsExactly("shop");
        assertThat(cp.fingerprints().tables()).containsOnlyKeys("shop.t");
        assertThat(cp.fingerprints().objects()).containsOnlyKeys("table shop.t");
        assertThatThrownBy(() -> new RecoveryCheckpoint("binlog.000003", 1234, "", 1, Instant.EPOCH, Map.of()))
                .hasMessageContaining("databases: got none");
    }

    static RecoveryCheckpoint checkpoint() {
        return new RecoveryCheckpoint("binlog.000003", 1234, "0-1-42", 1, Instant.parse("2026-12-07T06:00:00Z"),
                Map.of("shop", new Fingerprints("sha256:ab", Map.of("t", new TableFingerprint(3, "d:0123")),
                        Map.of("table t", "definition:sha256:cd"))));
    }
}
