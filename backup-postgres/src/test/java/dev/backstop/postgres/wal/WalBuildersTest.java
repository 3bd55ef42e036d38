package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.Repository;
import dev.backstop.postgres.PgEndpoint;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalBuildersTest {
    private static final PgEndpoint PRIMARY = PgEndpoint.of("127.0.0.1", 5432, "replicator", "secret");

    @TempDir
    Path tmp;

    @Test
    void walArchiveBuilder_givenASettingTwice_refusesTheSecond() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        assertThatThrownBy(() -> WalArchive.builder(repo, 7L).compressionLevel(3).compressionLevel(9))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("compressionLevel: already set to 3, given again 9");
    }

    @Test
    void walReceiverBuilder_givenASettingTwice_refusesTheSecond_andNoDeltasCountsAsTheDeltaInterval() {
        WalArchive archive = WalArchive.builder(Repository.filesystem(tmp.resolve("repo")), 7L).build();
        assertThatThrownBy(() -> WalReceiver.builder(PRIMARY, archive).slot("one").slot("two"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("slot: already set to one, given again two");
        assertThatThrownBy(() -> WalReceiver.builder(PRIMARY, archive).deltaInterval(Duration.ofSeconds(1)).noDeltas())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("deltaInterval: already set to PT1S, given again none (noDeltas())");
        assertThatThrownBy(() -> WalReceiver.builder(PRIMARY, archive).threadFactory(Thread::new).threadFactory(Thread::new))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("threadFactory: already set to ");
    }
}
