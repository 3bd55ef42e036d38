package dev.backstop.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PostgresInstance;
import java.sql.Connection;
import java.sql.ResultSet;
import org.junit.jupiter.api.Test;

class TestcontainersPostgresIT {

    @Test
    void start_whenDockerAnswers_givesAServerBehindTheSameInterface() throws Exception {
        assumeTrue(TestcontainersPostgres.dockerAvailable(), "no Docker engine: the container provider is optional");
        try (PostgresInstance pg = TestcontainersPostgres.of("postgres:15-alpine").start();
             Connection c = pg.connect("postgres"); ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(1);
        }
    }

    @Test
    void auto_withoutDocker_fallsBackToLocalBinaries() throws Exception {
        assumeTrue(!TestcontainersPostgres.dockerAvailable(), "Docker present: auto() picks containers");
        try (PostgresInstance pg = PostgresProviders.auto().start()) {
            assertThat(pg).isInstanceOf(EphemeralPostgres.class);
        }
    }
}
