package dev.backstop.postgres.logical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.CaptureFailedException;
import dev.backstop.postgres.PgEndpoint;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class PgDumpSourceTest {
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
