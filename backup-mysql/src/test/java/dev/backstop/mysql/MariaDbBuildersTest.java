package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.mysql.physical.MariaDbBackupSource;
import dev.backstop.mysql.physical.MariaDbPhysicalDrill;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MariaDbBuildersTest {
    private static final MariaDbEndpoint ENDPOINT = MariaDbEndpoint.of("127.0.0.1", 3306, "backup", "secret");

    @Test
    void dumpSourceBuilder_givenAnExecutorTwice_refusesTheSecond() {
        Executor direct = Runnable::run;
        MariaDbDumpSource.Builder b = MariaDbDumpSource.builder(ENDPOINT, "shop").executor(direct);

        assertThatThrownBy(() -> b.executor(direct)).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("executor: already set");
    }

    @Test
    void backupSourceBuilder_givenAnExecutorTwice_refusesTheSecond() {
        Executor direct = Runnable::run;
        MariaDbBackupSource.Builder b = MariaDbBackupSource.builder(ENDPOINT).executor(direct);

        assertThatThrownBy(() -> b.executor(direct)).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("executor: already set");
    }

    @Test
    void dumpSourceBuilder_givenFingerprintsTwice_namesBothValues() {
        MariaDbDumpSource.Builder b = MariaDbDumpSource.builder(ENDPOINT, "shop").fingerprints(false);

        assertThatThrownBy(() -> b.fingerprints(true)).isInstanceOf(IllegalStateException.class)
                .hasMessage("fingerprints: already set to false, given again true");
    }

    @Test
    void ephemeralBuilder_givenADataDirectoryTwice_refusesTheSecond() {
        EphemeralMariaDb.Builder b = EphemeralMariaDb.builder().dataDirectory(Path.of("/tmp/a"));

        assertThatThrownBy(() -> b.dataDirectory(Path.of("/tmp/b"))).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("dataDirectory: already set");
    }

    @Test
    void physicalBuilders_givenASettingTwice_refuseTheSecond() {
        MariaDbBackupSource.Builder source = MariaDbBackupSource.builder(ENDPOINT).parallel(2);
        MariaDbPhysicalDrill.Builder drill = MariaDbPhysicalDrill.builder().clock(Clock.systemUTC());

        assertThatThrownBy(() -> source.parallel(4)).isInstanceOf(IllegalStateException.class)
                .hasMessage("parallel: already set to 2, given again 4");
        assertThatThrownBy(() -> drill.clock(Clock.systemUTC())).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("clock: already set");
    }

    @Test
    void ephemeralStart_withoutItsServerProgram_throwsABackupExceptionNamingIt(@TempDir Path dir) {
        EphemeralMariaDb.Builder b = EphemeralMariaDb.builder().baseDir(dir)
                .tools(MariaDbTools.locate().with("mariadbd", dir.resolve("no-such-mariadbd")));

        assertThatThrownBy(b::start).isInstanceOf(BackupException.class)
                .hasMessageContaining("could not start a throwaway MariaDB server").hasMessageContaining("no-such-mariadbd");
    }
}
