package dev.backstop.postgres.logical;

import dev.backstop.postgres.SharedPostgres;
import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Fingerprints hashed from pg_dump's own COPY stream ({@code c:}) against the drill's COPY of a restore. */
class PgStreamFingerprintsIT {
    @TempDir
    Path tmp;

    @RegisterExtension
    static final SharedPostgres pg = SharedPostgres.with(pg -> {
            pg.createDatabase("odd");
            try (Connection c = pg.connect("odd"); Statement st = c.createStatement()) {
                // settings that would change pg_dump's COPY text if the capture did not pin them
                st.execute("ALTER DATABASE odd SET TimeZone = 'Asia/Kolkata'");
                st.execute("ALTER DATABASE odd SET bytea_output = 'escape'");
                st.execute("ALTER DATABASE odd SET IntervalStyle = 'sql_standard'");
                st.execute("ALTER DATABASE odd SET DateStyle = 'SQL, DMY'");
                st.execute("ALTER DATABASE odd SET extra_float_digits = -2");
                st.execute("CREATE SCHEMA \"We.ird \"\"Schema\"\"\"");
                st.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
                st.execute("CREATE TYPE pair AS (a int, b text)");
                st.execute("CREATE TABLE vals (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, gone int, f8 float8, f4 float4,"
                        + " n numeric, ts timestamptz, t timestamp, d date, tt timetz, iv interval, b bytea, j jsonb, js json,"
                        + " ia int[], ta text[], s text, m mood, p pair, r tstzrange, pt point, u uuid, ip inet,"
                        + " twice float8 GENERATED ALWAYS AS (f8 * 2) STORED)");
                st.execute("ALTER TABLE vals DROP COLUMN gone");
                st.execute("INSERT INTO vals (f8, f4, n, ts, t, d, tt, iv, b, j, js, ia, ta, s, m, p, r, pt, u, ip) VALUES "
                        + "('NaN', 'NaN', 'NaN', '2025-03-30 01:30:00+01', '2025-01-01 12:00', '2025-02-28', '10:00+02', "
                        + "'1 year 2 mons 3 days 04:05:06.789', '\\x00ff5c0a', '{\"a\": [1, 2.50, null], \"b\": \"tab\\there\"}', "
                        + "'{ \"keep\" :  \"spacing\" }', '{1,NULL,3}', '{\"a b\",\"c\\\\d\",NULL,\"\"}', E'tab\\there\\nnew line \\\\ back', "
                        + "'happy', ROW(1, 'x,y'), '[2025-01-01 00:00+00,2025-06-01 00:00+05)', '(1.5,-0)', "
                        + "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1/24'),"
                        + "('-0', '-0', 0.000, 'infinity', '-infinity', 'infinity', '00:00:00+00', '-1 day +02:00', '', '[]', 'null',"
                        + " '{}', '{}', '', 'sad', ROW(NULL, NULL), 'empty', '(1e-310,1e308)', NULL, '::1'),"
                        + "(1e-310, 1.17549435e-38, 1e-20, '0001-01-01 00:00:00+00 BC', '2000-02-29 23:59:59.999999', '4713-01-01 BC',"
                        + " '23:59:59.999999-14:59', '-178000000 years', '\\x', '{\"\\u00e9\": 1e400}', '[1, 2]', '{{1,2},{3,4}}',"
                        + " '{\"\\\\\\\\.\"}', E'\\\\.', 'ok', NULL, '(,)', '(0.1,0.2)', NULL, NULL),"
                        + "(1.0000000000000002, 3.4028235e38, 12345678901234567890.123456789, '2025-10-26 02:30:00 Europe/Berlin',"
                        + " NULL, NULL, NULL, '0', NULL, NULL, NULL, NULL, NULL, 'ünïcødé ✓ \u0001', NULL, NULL, NULL, NULL, NULL, NULL),"
                        + "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
                st.execute("INSERT INTO vals (f8, s, ts, b) SELECT g / 7.0, repeat(md5(g::text), g % 5), "
                        + "timestamptz '2025-01-01' + g * interval '37 min', decode(md5(g::text), 'hex') FROM generate_series(1, 20000) g");
                st.execute("CREATE TABLE \"We.ird \"\"Schema\"\"\".\"Mixed \"\"Case\"\" Table\" (\"Key\" int, \"v a l\" text)");
                st.execute("INSERT INTO \"We.ird \"\"Schema\"\"\".\"Mixed \"\"Case\"\" Table\" SELECT g, 'v' || g FROM generate_series(1, 100) g");
                st.execute("CREATE TABLE events (at timestamptz NOT NULL, what text) PARTITION BY RANGE (at)");
                st.execute("CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
                st.execute("CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
                st.execute("INSERT INTO events SELECT timestamptz '2025-06-01' + g * interval '1 hour', 'e' || g FROM generate_series(1, 8000) g");
                st.execute("CREATE TABLE empty_table (x int, y text)");
                st.execute("CREATE TABLE no_columns ()");
                st.execute("INSERT INTO no_columns DEFAULT VALUES");
                st.execute("INSERT INTO no_columns DEFAULT VALUES");
                st.execute("CREATE DOMAIN price AS money");
                st.execute("CREATE TABLE prices (id int, p money)");
                st.execute("INSERT INTO prices VALUES (1, 12.34), (2, NULL)");
                st.execute("CREATE TABLE wrapped (id int, ps price[])");
                st.execute("INSERT INTO wrapped VALUES (1, '{1.00,2.00}')");
            }
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("CREATE DATABASE latin TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'");
            }
            try (Connection c = pg.connect("latin"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id int PRIMARY KEY, s text, ts timestamptz)");
                st.execute("INSERT INTO t SELECT g, 'caf' || chr(233) || g, timestamptz '2025-01-01' + g * interval '1 day'"
                        + " FROM generate_series(1, 3000) g");
            }
    });

    private Manifest backup(Repository repo, KeyEncryptionKey kek, PgDumpSource.Builder source) {
        return BackupPipeline.builder()
                .source(source.build())
                .compress(ZstdTransform.level(3))
                .encrypt(Encryption.with(kek))
                .repository(repo)
                .build().run();
    }

    private Manifest backup(String db, Repository repo, KeyEncryptionKey kek) {
        return backup(repo, kek, PgDumpSource.builder(pg.endpoint(), db));
    }

    private static Fingerprints fingerprints(String db, Fingerprints like) throws Exception {
        try (Connection c = pg.connect(db)) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                return PgFingerprints.compute(c, like);
            } finally {
                c.rollback();
            }
        }
    }

    private static void execute(String db, String... statements) throws Exception {
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    @Test
    void awkwardSchema_streamHashes_equalTheCopyHashesOfTheSource_andOfARestoreDrill() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("odd", repo, kek);
        Fingerprints recorded = m.fingerprints().orElseThrow();
        Map<String, TableFingerprint> t = recorded.tables();

        assertThat(m.attributes()).containsEntry("postgresql.fingerprints", "stream");
        assertThat(t).containsOnlyKeys("public.vals", "We.ird \"Schema\".Mixed \"Case\" Table", "public.events_2025",
                "public.events_2026", "public.empty_table", "public.no_columns", "public.prices", "public.wrapped");
        assertThat(t.get("public.vals").rows()).isEqualTo(20005);
        assertThat(t.get("public.events_2025").rows() + t.get("public.events_2026").rows()).isEqualTo(8000);
        assertThat(t.get("public.empty_table").rows()).isZero();
        assertThat(t.get("public.no_columns").rows()).isEqualTo(2);
        assertThat(t.get("public.vals").contentHash()).startsWith("c:");
        assertThat(t.get("public.empty_table").contentHash()).startsWith("c:");
        // money's text in the dump follows the server's lc_monetary: these are COPYed again with it pinned to C
        assertThat(t.get("public.prices").contentHash()).startsWith("c:");
        assertThat(t.get("public.wrapped").contentHash()).startsWith("c:");
        assertThat(t.get("public.prices").rows()).isEqualTo(2);

        assertThat(recorded.differencesFrom(fingerprints("odd", recorded))).isEmpty();
        ValidationResult r = RestoreDrill.builder().amcheck(false).build()
                .validate(m, Restore.builder().repository(repo).keys(kek).build());
        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("rows", Long.toString(recorded.totalRows()));
    }

    @Test
    void aRowChangedAfterTheBackup_isReportedNamingTheTable_withExpectedAndFoundHash() throws Exception {
        pg.createDatabase("changing");
        execute("changing", "CREATE TABLE t (id int PRIMARY KEY, v text)", "CREATE TABLE u (x int)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g", "INSERT INTO u VALUES (1)");
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = backup("changing", repo, LocalKeysetKek.create(tmp.resolve("kek.json")));
        Fingerprints recorded = m.fingerprints().orElseThrow();
        assertThat(recorded.differencesFrom(fingerprints("changing", recorded))).isEmpty();

        execute("changing", "UPDATE t SET v = 'changed' WHERE id = 500");

        Fingerprints now = fingerprints("changing", recorded);
        assertThat(recorded.differencesFrom(now)).containsExactly("table public.t: expected content hash "
                + recorded.tables().get("public.t").contentHash() + ", found " + now.tables().get("public.t").contentHash());
        assertThat(now.tables().get("public.t").contentHash()).startsWith("c:");

        execute("changing", "DELETE FROM t WHERE id = 1");
        assertThat(recorded.differencesFrom(fingerprints("changing", recorded)))
                .containsExactly("table public.t: expected 1000 rows, found 999");
    }

    @Test
    void aRestoreTamperedWith_isCaught_evenWhenValuesAreOnlySwappedBetweenRows() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("odd", repo, kek);
        Fingerprints recorded = m.fingerprints().orElseThrow();
        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        PostgresRestore.builder(restore, pg.endpoint(), "odd_restored").build().run(m);
        assertThat(recorded.differencesFrom(fingerprints("odd_restored", recorded))).isEmpty();

        // the same multiset of values per column, but not the same rows
        execute("odd_restored", "UPDATE vals SET s = CASE id WHEN 10 THEN (SELECT s FROM vals WHERE id = 11) "
                + "ELSE (SELECT s FROM vals WHERE id = 10) END WHERE id IN (10, 11)");
        assertThat(recorded.differencesFrom(fingerprints("odd_restored", recorded))).singleElement().asString()
                .startsWith("table public.vals: expected content hash c:");

        execute("odd_restored", "UPDATE vals SET s = CASE id WHEN 10 THEN (SELECT s FROM vals WHERE id = 11) "
                + "ELSE (SELECT s FROM vals WHERE id = 10) END WHERE id IN (10, 11)",
                "UPDATE events_2026 SET what = 'E' || substr(what, 2) WHERE what = 'e7000'");
        assertThat(recorded.differencesFrom(fingerprints("odd_restored", recorded))).singleElement().asString()
                .startsWith("table public.events_2026: expected content hash c:");
    }

    @Test
    void serverFingerprints_ofOlderBackups_stillVerify_andTheMethodCanBeChosen() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(repo, kek, PgDumpSource.builder(pg.endpoint(), "odd").fingerprints(FingerprintMethod.SERVER));
        Fingerprints recorded = m.fingerprints().orElseThrow();

        assertThat(m.attributes()).containsEntry("postgresql.fingerprints", "server");
        assertThat(recorded.tables().values()).allSatisfy(f -> assertThat(f.contentHash()).startsWith("c:"));
        assertThat(recorded.differencesFrom(fingerprints("odd", recorded))).isEmpty();

        Manifest none = backup(repo, kek, PgDumpSource.builder(pg.endpoint(), "odd").fingerprints(false));
        assertThat(none.fingerprints()).isEmpty();
    }

    @Test
    void latin1Database_fallsBackToServerCopyHashes_andItsDrillPasses() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("latin", repo, kek);

        assertThat(m.attributes()).containsEntry("postgresql.fingerprints", "server");
        assertThat(m.fingerprints().orElseThrow().tables().get("public.t").contentHash()).startsWith("c:");
        ValidationResult r = RestoreDrill.builder().amcheck(false).build()
                .validate(m, Restore.builder().repository(repo).keys(kek).build());
        assertThat(r.findings()).isEmpty();
    }

    @Test
    void aDumpTheTapCannotHash_isFingerprintedByTheServerInTheSameSnapshot_sayingWhy() throws Exception {
        pg.createDatabase("recoded");
        execute("recoded", "CREATE TABLE t (id int, s text)", "INSERT INTO t SELECT g, 'x' || g FROM generate_series(1, 500) g");
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = backup(repo, LocalKeysetKek.create(tmp.resolve("kek.json")),
                PgDumpSource.builder(pg.endpoint(), "recoded").pgDumpOption("--encoding=LATIN1"));

        assertThat(m.attributes().get("postgresql.fingerprints")).startsWith("server (").contains("LATIN1");
        Fingerprints recorded = m.fingerprints().orElseThrow();
        assertThat(recorded.tables().get("public.t")).satisfies(f -> {
            assertThat(f.rows()).isEqualTo(500);
            assertThat(f.contentHash()).startsWith("c:");
        });
        assertThat(recorded.differencesFrom(fingerprints("recoded", recorded))).isEmpty();
    }

    @Test
    void aTableWhoseDataTheDumpLeavesOut_isRecordedWithNoRows_asItsRestoreHoldsIt() throws Exception {
        pg.createDatabase("partial");
        execute("partial", "CREATE TABLE kept (id int)", "CREATE TABLE audit (id int)",
                "INSERT INTO kept SELECT generate_series(1, 100)", "INSERT INTO audit SELECT generate_series(1, 50)");
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(repo, kek, PgDumpSource.builder(pg.endpoint(), "partial").pgDumpOption("--exclude-table-data=public.audit"));
        Fingerprints recorded = m.fingerprints().orElseThrow();

        assertThat(recorded.tables().get("public.kept").rows()).isEqualTo(100);
        assertThat(recorded.tables().get("public.audit")).satisfies(f -> {
            assertThat(f.rows()).isZero();
            assertThat(f.contentHash()).startsWith("c:");
        });
        PostgresRestore.builder(Restore.builder().repository(repo).keys(kek).build(), pg.endpoint(), "partial_restored")
                .build().run(m);
        assertThat(recorded.differencesFrom(fingerprints("partial_restored", recorded))).isEmpty();
    }

    @Test
    void directoryDump_isHashedFromTheServersCopyText() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = backup(repo, LocalKeysetKek.create(tmp.resolve("kek.json")),
                PgDumpSource.builder(pg.endpoint(), "odd").format(DumpFormat.DIRECTORY));

        assertThat(m.attributes()).containsEntry("postgresql.fingerprints", "server");
        assertThat(m.fingerprints().orElseThrow().tables().get("public.vals").contentHash()).startsWith("c:");
    }

    @Test
    void computeWithHelperSessions_seesTheMainSessionsSnapshot_givesWhatOneSessionGives_andLeavesTheHelpersOpen() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = backup("odd", repo, LocalKeysetKek.create(tmp.resolve("kek.json")));
        Fingerprints recorded = m.fingerprints().orElseThrow();
        pg.createDatabase("snap");
        execute("snap", "CREATE TABLE a (x int)", "CREATE TABLE b (x int)", "CREATE TABLE c (x int)",
                "INSERT INTO a SELECT generate_series(1, 3000)", "INSERT INTO b SELECT generate_series(1, 2000)",
                "INSERT INTO c SELECT generate_series(1, 1000)");
        Fingerprints snap = fingerprints("snap", null);
        Map<String, TableFingerprint> copyTables = new java.util.HashMap<>();
        snap.tables().forEach((name, f) -> copyTables.put(name, new TableFingerprint(f.rows(), "c:recorded")));
        Fingerprints like = new Fingerprints(snap.schemaHash(), copyTables);

        try (Connection c = pg.connect("snap"); Connection h1 = pg.connect("snap"); Connection h2 = pg.connect("snap")) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try (Statement st = c.createStatement()) {
                st.executeQuery("SELECT 1").close(); // takes the transaction's snapshot
            }
            execute("snap", "INSERT INTO a VALUES (0)", "INSERT INTO b VALUES (0)", "INSERT INTO c VALUES (0)");

            Fingerprints parallel = PgFingerprints.compute(c, like, java.util.List.of(h1, h2));
            c.rollback();

            assertThat(parallel.tables()).extractingFromEntries(e -> e.getValue().rows()).containsOnly(3000L, 2000L, 1000L);
            assertThat(parallel.tables().get("public.a").rows()).isEqualTo(3000);
            assertThat(h1.isClosed()).isFalse();
            assertThat(h2.isClosed()).isFalse();
            try (Statement st = h1.createStatement(); java.sql.ResultSet rs = st.executeQuery("SELECT count(*) FROM a")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(3001);
            }
        }
        assertThat(recorded.differencesFrom(oddWithAHelper(recorded))).isEmpty();
    }

    /** The awkward database checked with a helper session. */
    private static Fingerprints oddWithAHelper(Fingerprints like) throws Exception {
        try (Connection c = pg.connect("odd"); Connection h = pg.connect("odd")) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                return PgFingerprints.compute(c, like, java.util.List.of(h));
            } finally {
                c.rollback();
            }
        }
    }
}
