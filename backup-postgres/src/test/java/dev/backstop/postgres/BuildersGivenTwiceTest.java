package dev.backstop.postgres;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.postgres.logical.DumpFormat;
import dev.backstop.postgres.logical.PgDumpSource;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class BuildersGivenTwiceTest {
    private static final PgEndpoint DB = PgEndpoint.of("127.0.0.1", 5432, "backup", "secret");

    @Test
    void pgDumpSourceBuilder_givenASettingTwice_refusesTheSecond_butAddsEveryPgDumpOption() {
        assertThatThrownBy(() -> PgDumpSource.builder(DB, "shop").format(DumpFormat.CUSTOM).format(DumpFormat.DIRECTORY))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("format: already set to CUSTOM, given again DIRECTORY");
        assertThatThrownBy(() -> PgDumpSource.builder(DB, "shop").jobs(2).jobs(4))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("jobs: already set to 2, given again 4");
        PgDumpSource.builder(DB, "shop").pgDumpOption("--exclude-table=audit.*").pgDumpOption("--no-comments").build();
    }

    @Test
    void ephemeralPostgresBuilder_givenASettingTwice_refusesTheSecond_butMayReplaceADefaultServerSettingOnce() {
        assertThatThrownBy(() -> EphemeralPostgres.builder().startTimeout(Duration.ofSeconds(5)).startTimeout(Duration.ofSeconds(9)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("startTimeout: already set to PT5S, given again PT9S");
        assertThatThrownBy(() -> EphemeralPostgres.builder().baseDir(Path.of("/a")).baseDir(Path.of("/b")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("baseDir: already set to /a, given again /b");
        assertThatThrownBy(() -> EphemeralPostgres.builder().setting("fsync", "on").setting("fsync", "off"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("setting fsync: already set to on, given again off");
    }
}
