package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupId;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.postgres.PgEndpoint;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirectorySourceBuilderTest {
    private static final PgEndpoint DB = PgEndpoint.of("127.0.0.1", 5432, "backup", "secret");
    private static final BackupId PARENT = BackupId.parse("20261201T000000Z-physical-abcdef");

    @TempDir
    Path tmp;

    DataDirectorySource.Builder builder() {
        return DataDirectorySource.builder(DB, tmp);
    }

    @Test
    void level_givenTwice_isRefused() {
        assertThatThrownBy(() -> builder().level(BackupLevel.INCR).level(BackupLevel.DIFF))
                .isInstanceOf(IllegalStateException.class).hasMessage("level: already set to INCR, given again DIFF");
    }

    @Test
    void incrementalLevel_withoutParents_isRefusedAtBuild() {
        assertThatThrownBy(() -> builder().level(BackupLevel.INCR).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("parents(Restore)");
    }

    @Test
    void fullLevel_withAParent_isRefusedAtBuild() {
        assertThatThrownBy(() -> builder().parent(PARENT).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining(PARENT.value());
    }

    @Test
    void maxChainLength_outsideOneToHundred_isRefusedStatingTheBound() {
        assertThatThrownBy(() -> builder().maxChainLength(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxChainLength: got 0, must be 1..100");
        assertThatThrownBy(() -> builder().maxChainLength(101)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> builder().maxChainLength(3).maxChainLength(4)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void toString_namesTheLevelAndParent() {
        Restore r = Restore.builder().repository(Repository.filesystem(tmp.resolve("repo"))).allowUnencrypted().build();
        String s = builder().level(BackupLevel.INCR).parent(PARENT).parents(r).build().toString();
        assertThat(s).contains("incr on " + PARENT.value()).doesNotContain("secret");
    }

    @Test
    void ofLabel_readsEachLevelsLabel() {
        for (BackupLevel l : BackupLevel.values()) {
            assertThat(BackupLevel.ofLabel(l.label())).isEqualTo(l);
        }
        assertThatThrownBy(() -> BackupLevel.ofLabel("weekly")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("weekly");
    }
}
