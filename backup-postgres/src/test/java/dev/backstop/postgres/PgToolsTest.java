package dev.backstop.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
    void endpoint_neverShowsItsPassword() {
        PgEndpoint e = PgEndpoint.of("db.internal", 5433, "backup", "s3cret!");

        assertThat(e.toString()).isEqualTo("postgresql://backup@db.internal:5433 (password set)");
        assertThat(e.jdbcUrl("shop")).isEqualTo("jdbc:postgresql://db.internal:5433/shop");
        assertThatThrownBy(() -> PgEndpoint.of("h", 0, "u", null)).hasMessage("port: got 0, must be 1..65535");
    }
}
