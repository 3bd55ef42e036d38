package dev.backstop.postgres.logical;

import dev.backstop.postgres.SharedPostgres;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.Fingerprints;
import dev.backstop.postgres.EphemeralPostgres;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PgFingerprintsIT {
    static int databases;

    @RegisterExtension
    static final SharedPostgres pg = SharedPostgres.empty();

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
    void anExtraIndex_isNamedAsADifference() throws Exception {
        Fingerprints without = withData("CREATE TABLE s (a int, b int)");
        Fingerprints with = withData("CREATE TABLE s (a int, b int)", "CREATE INDEX s_b ON s (b)");

        assertThat(without.differencesFrom(with)).containsExactly("index public.s_b: not in the backup");
        assertThat(without.schemaHash()).isNotEqualTo(with.schemaHash());
    }

    @Test
    void serverSideHashes_distinguishNumericScale_negativeZero_jsonbNumbers_andArrays() throws Exception {
        String table = "CREATE TABLE v (n numeric, f float8, j jsonb, a numeric[])";
        Fingerprints base = withData(table, "INSERT INTO v VALUES (1.50, 0, '1.0', '{1.50}')");

        assertThat(base.tables().get("public.v").contentHash()).startsWith("c:");
        for (String changed : new String[] {"(1.5, 0, '1.0', '{1.50}')", "(1.50, '-0', '1.0', '{1.50}')",
                "(1.50, 0, '1', '{1.50}')", "(1.50, 0, '1.0', '{1.5}')"}) {
            Fingerprints other = withData(table, "INSERT INTO v VALUES " + changed);
            assertThat(base.differencesFrom(other)).as(changed).singleElement().asString()
                    .startsWith("table public.v: expected content hash c:");
        }
    }

    @Test
    void fingerprintsRecordedWithoutObjectProofs_areComparedByTheirOpaqueSchemaHash() throws Exception {
        String db = "fp" + (++databases);
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (a int DEFAULT 1)");
            }
            c.setAutoCommit(false);
            Fingerprints old = new Fingerprints("sha256:recorded-before-object-proofs", java.util.Map.of());
            Fingerprints like = PgFingerprints.compute(c, old);

            assertThat(like.objects()).isEmpty();
            assertThat(like.schemaHash()).startsWith("sha256:").isEqualTo(PgFingerprints.compute(c, like).schemaHash());
            Fingerprints recorded = new Fingerprints(old.schemaHash(), like.tables());
            assertThat(recorded.differencesFrom(like)).singleElement().asString()
                    .startsWith("schema: expected hash sha256:recorded-before-object-proofs, found sha256:");
        }
    }

    @Test
    void compute_inAutoCommitMode_isRefusedBecauseTablesWouldBeSeenAtDifferentInstants() throws Exception {
        try (Connection c = pg.connect("postgres")) {
            assertThatThrownBy(() -> PgFingerprints.compute(c)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("REPEATABLE READ");
        }
    }

    @Test
    void rowsAreHashedFromTheirCopyText_whateverTheirTypes() throws Exception {
        Fingerprints f = withData("CREATE TABLE plain (a int, b jsonb)", "CREATE TABLE odd (a int, j json, p point, m money)",
                "INSERT INTO plain VALUES (1, '{}')", "INSERT INTO odd VALUES (1, '{}', '(1,2)', 3)");

        assertThat(f.tables().get("public.plain").contentHash()).startsWith("c:");
        assertThat(f.tables().get("public.odd").contentHash()).startsWith("c:");
        assertThat(f.tables().get("public.odd").rows()).isEqualTo(1);
    }

    @Test
    void computeLike_reusesTheRecordedMethod_soValueAndTextHashedBackupsStayComparable() throws Exception {
        String db = "fp" + (++databases);
        pg.createDatabase(db);
        try (Connection c = pg.connect(db)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (a int)");
                st.execute("INSERT INTO t SELECT generate_series(1, 10)");
            }
            c.setAutoCommit(false);
            Fingerprints byCopy = PgFingerprints.compute(c);
            java.util.Map<String, dev.backstop.core.TableFingerprint> text = java.util.Map.of("public.t",
                    new dev.backstop.core.TableFingerprint(10, "t:whatever"));
            java.util.Map<String, dev.backstop.core.TableFingerprint> values = java.util.Map.of("public.t",
                    new dev.backstop.core.TableFingerprint(10, "r:whatever"));
            Fingerprints like = PgFingerprints.compute(c, new Fingerprints(byCopy.schemaHash(), text));

            assertThat(byCopy.tables().get("public.t").contentHash()).startsWith("c:");
            assertThat(PgFingerprints.compute(c, new Fingerprints(byCopy.schemaHash(), values)).tables().get("public.t")
                    .contentHash()).startsWith("r:");
            assertThat(like.tables().get("public.t").contentHash()).startsWith("t:");
            assertThat(like.tables().get("public.t").rows()).isEqualTo(10);
        }
    }

    @Test
    void everyKindOfObject_getsAProof_andAChangeToAnyNamesIt() throws Exception {
        String[] schema = {"CREATE TABLE p (id int PRIMARY KEY, a int, b int)",
            "CREATE STATISTICS p_ab ON a, b FROM p",
            "CREATE PUBLICATION pub FOR TABLE p",
            "CREATE RULE p_ignore AS ON DELETE TO p WHERE old.id < 0 DO INSTEAD NOTHING",
            "CREATE TYPE pair AS (x int, y text COLLATE \"C\")",
            "CREATE TYPE span AS RANGE (subtype = int4)",
            "CREATE AGGREGATE total(int) (sfunc = int4pl, stype = int, initcond = '0')",
            "CREATE PROCEDURE noop() LANGUAGE sql AS $$ SELECT 1 $$",
            "CREATE VIEW v AS SELECT id FROM p", "CREATE SCHEMA s", "COMMENT ON SCHEMA s IS 'spare'"};
        Fingerprints base = withData(schema);

        assertThat(base.objects()).containsKeys("statistics public.p_ab", "publication pub", "rule public.p.p_ignore",
                "type public.pair", "type public.span", "aggregate public.total(integer)", "procedure public.noop()",
                "view public.v", "schema s", "schema public", "extension plpgsql", "constraint public.p.p_pkey",
                "index public.p_pkey", "column public.p.a");
        assertThat(base.objects().get("extension plpgsql")).startsWith("version=");

        String[] changed = schema.clone();
        changed[4] = "CREATE TYPE pair AS (x int, y text)";
        assertThat(base.differencesFrom(withData(changed))).containsExactly("type public.pair: definition differs");
        changed = schema.clone();
        changed[2] = "CREATE PUBLICATION pub FOR TABLE p WITH (publish = 'insert')";
        assertThat(base.differencesFrom(withData(changed))).containsExactly("publication pub: definition differs");
        changed = schema.clone();
        changed[6] = "CREATE AGGREGATE total(int) (sfunc = int4pl, stype = int, initcond = '1')";
        assertThat(base.differencesFrom(withData(changed))).containsExactly("aggregate public.total(integer): definition differs");
    }
}
