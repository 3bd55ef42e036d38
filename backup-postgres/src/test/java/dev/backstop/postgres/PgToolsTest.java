package dev.backstop.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.CaptureFailedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgToolsTest {
    @TempDir
    Path tmp;

    @Test
    void parseMajor_readsTheMajorOfEveryVersionLineShape() {
        assertThat(PgTools.parseMajor("pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)")).contains(15);
        assertThat(PgTools.parseMajor("pg_restore (PostgreSQL) 17.0")).contains(17);
        assertThat(PgTools.parseMajor("psql (PostgreSQL) 9.6.24")).contains(9);
        assertThat(PgTools.parseMajor("pg_dump (PostgreSQL) 18beta1")).contains(18);
        assertThat(PgTools.parseMajor("not a version")).isEmpty();
    }

    @Test
    void tool_missingFromTheConfiguredDirectory_namesTheProgramAndTheDirectory() throws Exception {
        Path bin = Files.createDirectory(tmp.resolve("bin"));

        assertThatThrownBy(() -> PgTools.in(bin).tool("pg_restore"))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("pg_restore not found")
                .hasMessageContaining("the configured bin directory " + bin);
    }

    @Test
    void checkVersions_refusesAnOlderPgDump_andAcceptsTheSameOrNewer() {
        Path p = Path.of("/opt/pg13/bin/pg_dump");
        assertThatThrownBy(() -> PgDumpSource.checkVersions(p, 13, 15, "15.4"))
                .isInstanceOf(CaptureFailedException.class)
                .hasMessage("/opt/pg13/bin/pg_dump is PostgreSQL 13 but the server is 15.4; pg_dump must be the server's "
                        + "major version or newer: configure PgTools.in(<bin dir of PostgreSQL 15 or newer>)");
        assertThat(catching(() -> PgDumpSource.checkVersions(p, 15, 15, "15.4"))).isNull();
        assertThat(catching(() -> PgDumpSource.checkVersions(p, 17, 15, "15.4"))).isNull();
    }

    @Test
    void pgDumpOption_thatTheSourceSetsItself_isRefusedNamingTheOption() {
        PgDumpSource.Builder b = PgDumpSource.builder(PgEndpoint.of("127.0.0.1", 5432, "u", null), "db");

        assertThatThrownBy(() -> b.pgDumpOption("--snapshot=abc")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'--snapshot=abc' is set by PgDumpSource itself");
        assertThatThrownBy(() -> b.pgDumpOption("-Z9")).isInstanceOf(IllegalArgumentException.class);
        assertThat(b.pgDumpOption("--exclude-table=audit.*")).isSameAs(b);
    }

    @Test
    void endpoint_neverShowsItsPassword() {
        PgEndpoint e = PgEndpoint.of("db.internal", 5433, "backup", "s3cret!");

        assertThat(e.toString()).isEqualTo("postgresql://backup@db.internal:5433 (password set)");
        assertThat(e.jdbcUrl("shop")).isEqualTo("jdbc:postgresql://db.internal:5433/shop");
        assertThatThrownBy(() -> PgEndpoint.of("h", 0, "u", null)).hasMessage("port: got 0, must be 1..65535");
    }

    private static Throwable catching(ThrowingRunnable r) {
        try {
            r.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
