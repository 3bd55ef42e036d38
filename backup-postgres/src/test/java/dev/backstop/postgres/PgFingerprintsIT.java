package dev.backstop.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.Fingerprints;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PgFingerprintsIT {
    static EphemeralPostgres pg;
    static int databases;

    @BeforeAll
    static void start() throws Exception {
        pg = EphemeralPostgres.start();
    }

    @AfterAll
    static void stop() throws Exception {
        pg.close();
    }

    static Fingerprints withData(String... statements) throws Exception {
        String db = "fp" + (++databases);
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            try (Statement st = c.createStatement()) {
                for (String s : statements) {
                    st.execute(s);
                }
            }
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            return PgFingerprints.compute(c);
        }
    }

    static final String TABLE = "CREATE TABLE t (id int PRIMARY KEY, v jsonb, b bytea, n numeric, ts timestamptz, f float8)";

    @Test
    void sameRowsInsertedInDifferentOrder_haveEqualFingerprints() throws Exception {
        Fingerprints ascending = withData(TABLE, "INSERT INTO t SELECT g, jsonb_build_object('g', g), "
                + "decode(md5(g::text), 'hex'), g / 3.0, timestamptz '2025-01-01' + g * interval '1 s', g / 7.0 "
                + "FROM generate_series(1, 5000) g ORDER BY g");
        Fingerprints descending = withData(TABLE, "INSERT INTO t SELECT g, jsonb_build_object('g', g), "
                + "decode(md5(g::text), 'hex'), g / 3.0, timestamptz '2025-01-01' + g * interval '1 s', g / 7.0 "
                + "FROM generate_series(1, 5000) g ORDER BY g DESC", "SET TimeZone = 'Asia/Tokyo'");

        assertThat(ascending.differencesFrom(descending)).isEmpty();
        assertThat(ascending.tables().get("public.t").rows()).isEqualTo(5000);
    }

    @Test
    void oneChangedValue_changesOnlyThatTablesContentHash() throws Exception {
        Fingerprints a = withData(TABLE, "CREATE TABLE u (x int)", "INSERT INTO u VALUES (1)",
                "INSERT INTO t SELECT g, '{}', NULL, g, NULL, NULL FROM generate_series(1, 100) g");
        Fingerprints b = withData(TABLE, "CREATE TABLE u (x int)", "INSERT INTO u VALUES (1)",
                "INSERT INTO t SELECT g, '{}', NULL, CASE WHEN g = 50 THEN 51 ELSE g END, NULL, NULL FROM generate_series(1, 100) g");

        assertThat(a.differencesFrom(b)).singleElement().asString()
                .startsWith("table public.t: expected content hash " + a.tables().get("public.t").contentHash());
        assertThat(a.tables().get("public.u")).isEqualTo(b.tables().get("public.u"));
    }

    @Test
    void droppedColumn_leavesNoTraceInTheSchemaHash() throws Exception {
        Fingerprints plain = withData("CREATE TABLE d (a int, c text)");
        Fingerprints dropped = withData("CREATE TABLE d (a int, b int, c text)", "ALTER TABLE d DROP COLUMN b");

        assertThat(plain.schemaHash()).isEqualTo(dropped.schemaHash());
    }

    @Test
    void anExtraIndex_changesTheSchemaHash() throws Exception {
        Fingerprints without = withData("CREATE TABLE s (a int, b int)");
        Fingerprints with = withData("CREATE TABLE s (a int, b int)", "CREATE INDEX s_b ON s (b)");

        assertThat(without.differencesFrom(with)).singleElement().asString().startsWith("schema: expected hash sha256:");
    }

    @Test
    void compute_inAutoCommitMode_isRefusedBecauseTablesWouldBeSeenAtDifferentInstants() throws Exception {
        try (Connection c = pg.connect("postgres")) {
            assertThatThrownBy(() -> PgFingerprints.compute(c)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("REPEATABLE READ");
        }
    }

    @Test
    void rowsAreHashedByValue_exceptInTablesWithATypeThatHasNoHashFunction() throws Exception {
        Fingerprints f = withData("CREATE TABLE plain (a int, b jsonb)", "CREATE TABLE odd (a int, j json, p point)",
                "INSERT INTO plain VALUES (1, '{}')", "INSERT INTO odd VALUES (1, '{}', '(1,2)')");

        assertThat(f.tables().get("public.plain").contentHash()).startsWith("r:");
        assertThat(f.tables().get("public.odd").contentHash()).startsWith("t:");
        assertThat(f.tables().get("public.odd").rows()).isEqualTo(1);
    }

    @Test
    void computeLike_reusesTheRecordedMethod_soTextHashedBackupsStayComparable() throws Exception {
        String db = "fp" + (++databases);
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (a int)");
                st.execute("INSERT INTO t SELECT generate_series(1, 10)");
            }
            c.setAutoCommit(false);
            Fingerprints byValue = PgFingerprints.compute(c);
            java.util.Map<String, dev.backstop.core.TableFingerprint> text = java.util.Map.of("public.t",
                    new dev.backstop.core.TableFingerprint(10, "t:whatever"));
            Fingerprints like = PgFingerprints.compute(c, new Fingerprints(byValue.schemaHash(), text));

            assertThat(byValue.tables().get("public.t").contentHash()).startsWith("r:");
            assertThat(like.tables().get("public.t").contentHash()).startsWith("t:");
            assertThat(like.tables().get("public.t").rows()).isEqualTo(10);
        }
    }
}
