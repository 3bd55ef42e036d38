package dev.backstop.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.DataSize;
import dev.backstop.core.Fingerprints;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.logical.PgFingerprints;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class RealisticFixtureIT {

    @Test
    void load_reachesTheTargetSize_withForeignKeysAndTheRealisticTypes() throws Exception {
        try (EphemeralPostgres pg = EphemeralPostgres.start()) {
            pg.createDatabase("a");
            RealisticFixture fixture = RealisticFixture.ofSize(DataSize.ofMiB(20));
            long bytes;
            try (Connection c = pg.connect("a")) {
                bytes = fixture.load(c);
            }

            assertThat(bytes).isBetween(DataSize.ofMiB(14).bytes(), DataSize.ofMiB(26).bytes());
            try (Connection c = pg.connect("a"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT (SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                         + "AND connamespace = 'app'::regnamespace), (SELECT string_agg(DISTINCT data_type, ',' ORDER BY data_type) "
                         + "FROM information_schema.columns WHERE table_schema = 'app')")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(5);
                assertThat(rs.getString(2)).contains("jsonb", "bytea", "numeric", "text", "timestamp with time zone");
            }
        }
    }

    @Test
    void load_isDeterministic_sameSizeGivesTheSameFingerprints() throws Exception {
        try (EphemeralPostgres pg = EphemeralPostgres.start()) {
            pg.createDatabase("a");
            pg.createDatabase("b");
            Fingerprints[] prints = new Fingerprints[2];
            String[] dbs = {"a", "b"};
            for (int i = 0; i < 2; i++) {
                try (Connection c = pg.connect(dbs[i])) {
                    RealisticFixture.ofSize(DataSize.ofMiB(2)).load(c);
                    c.setAutoCommit(false);
                    prints[i] = PgFingerprints.compute(c);
                }
            }
            assertThat(prints[0].differencesFrom(prints[1])).isEmpty();
            assertThat(prints[0].tables()).hasSize(6);
        }
    }
}
