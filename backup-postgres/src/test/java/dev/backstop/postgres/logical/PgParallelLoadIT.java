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
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streamed restore that loads a custom dump's table data over several COPY sessions at once,
 * on a schema chosen to trip a COPY-text splitter: a row longer than a slice, escapes, a value
 * that looks like COPY's end marker, a generated column, identity and sequence values, a
 * partitioned table, quoted names, privileges and comments (which pg_dump files in no section),
 * foreign keys built afterwards, and an empty table. Dumps the splitter does not load (here: with
 * large objects) fall back to one session, exactly.
 */
class PgParallelLoadIT {
    @TempDir
    Path tmp;

    @RegisterExtension
    static final SharedPostgres pg = SharedPostgres.with(pg -> {
            pg.createDatabase("awkward");
            try (Connection c = pg.connect("awkward"); Statement st = c.createStatement()) {
                st.execute("CREATE ROLE reader NOLOGIN");
                st.execute("CREATE SCHEMA app");
                st.execute("CREATE TABLE app.parent (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL)");
                st.execute("CREATE TABLE app.child (id bigserial PRIMARY KEY, parent_id bigint NOT NULL REFERENCES app.parent(id),"
                        + " body text, doubled int GENERATED ALWAYS AS (length(body) * 2) STORED, tags jsonb, blob bytea)");
                st.execute("CREATE INDEX child_parent ON app.child(parent_id)");
                st.execute("CREATE TABLE app.\"Mixed Case\" (\"Key\" int, v numeric(20,5))");
                st.execute("CREATE TABLE app.events (at timestamptz NOT NULL, what text) PARTITION BY RANGE (at)");
                st.execute("CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')");
                st.execute("CREATE TABLE app.events_2026 PARTITION OF app.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
                st.execute("CREATE TABLE app.nothing (x int)");
                // what follows the data, in the shapes its scheduling must respect: foreign keys both ways
                // between two tables and to the same table, an index on a partitioned table, a comment on an
                // index, a trigger
                st.execute("CREATE TABLE app.a (id int PRIMARY KEY, b_id int)");
                st.execute("CREATE TABLE app.b (id int PRIMARY KEY, a_id int REFERENCES app.a, up int REFERENCES app.b)");
                st.execute("ALTER TABLE app.a ADD FOREIGN KEY (b_id) REFERENCES app.b DEFERRABLE INITIALLY DEFERRED");
                st.execute("CREATE INDEX events_at ON app.events (at)");
                // names that need quoting, a key over two columns to a unique constraint in another schema
                st.execute("CREATE SCHEMA \"Other Schema\"");
                st.execute("CREATE TABLE \"Other Schema\".\"Code List\" (kind text, code int, UNIQUE (kind, code))");
                st.execute("INSERT INTO \"Other Schema\".\"Code List\" SELECT 'k' || g % 3, g FROM generate_series(1, 300) g");
                st.execute("ALTER TABLE app.\"Mixed Case\" ADD COLUMN kind text, ADD CONSTRAINT \"Coded \"\"by\"\" list\""
                        + " FOREIGN KEY (kind, \"Key\") REFERENCES \"Other Schema\".\"Code List\" (kind, code) ON UPDATE CASCADE ON DELETE SET NULL");
                st.execute("COMMENT ON INDEX app.child_parent IS 'by parent'");
                st.execute("CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$");
                st.execute("CREATE TRIGGER child_touch BEFORE UPDATE ON app.child FOR EACH ROW EXECUTE FUNCTION app.touch()");
                st.execute("CREATE SEQUENCE app.counter");
                st.execute("SELECT setval('app.counter', 4242)");
                st.execute("GRANT USAGE ON SCHEMA app TO reader");
                st.execute("GRANT SELECT ON app.parent TO reader");
                st.execute("COMMENT ON TABLE app.child IS 'lines of a parent'");
                st.execute("INSERT INTO app.parent (name) SELECT 'p' || g FROM generate_series(1, 5000) g");
                // enough rows for many 1 MiB slices, with tabs, newlines, backslashes and a lone "\." in the text
                st.execute("INSERT INTO app.child (parent_id, body, tags, blob) SELECT 1 + g % 5000,"
                        + " CASE WHEN g % 997 = 0 THEN E'\\\\.' WHEN g % 13 = 0 THEN E'tab\\there\\nnew line \\\\ back' ELSE repeat(md5(g::text), 3) END,"
                        + " jsonb_build_object('g', g, 'even', g % 2 = 0), decode(md5(g::text), 'hex') FROM generate_series(1, 60000) g");
                // one row far longer than a slice
                st.execute("INSERT INTO app.child (parent_id, body) SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, 120000) g");
                st.execute("INSERT INTO app.\"Mixed Case\" SELECT g, g / 7.0, CASE WHEN g <= 300 THEN 'k' || g % 3 END"
                        + " FROM generate_series(1, 1000) g");
                st.execute("INSERT INTO app.a SELECT g, NULL FROM generate_series(1, 2000) g");
                st.execute("INSERT INTO app.b SELECT g, g, NULLIF(g - 1, 0) FROM generate_series(1, 2000) g");
                st.execute("UPDATE app.a SET b_id = 2001 - id");
                st.execute("INSERT INTO app.events SELECT timestamptz '2025-06-01' + g * interval '1 hour', 'e' || g"
                        + " FROM generate_series(1, 8000) g");
            }
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("CREATE DATABASE latin TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'");
            }
            try (Connection c = pg.connect("latin"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id int PRIMARY KEY, s text)");
                st.execute("INSERT INTO t SELECT g, 'caf' || chr(233) || g FROM generate_series(1, 3000) g");
            }
            pg.createDatabase("wordy");
            try (Connection c = pg.connect("wordy"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id int PRIMARY KEY, s text)");
                st.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
                st.execute("CREATE INDEX t_s ON t (s)");
                // a table of contents larger than any fixed head: 17 MiB of comment
                st.execute("DO $$BEGIN EXECUTE format('COMMENT ON TABLE t IS %L', repeat('0123456789abcdef', 17 * 65536)); END$$");
            }
            pg.createDatabase("blobs");
            try (Connection c = pg.connect("blobs"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id int PRIMARY KEY, s text, doc oid)");
                st.execute("INSERT INTO t SELECT g, 'row ' || g, CASE WHEN g = 7 THEN lo_from_bytea(0, 'large object') END"
                        + " FROM generate_series(1, 3000) g");
            }
    });

    private Manifest backup(String db, Repository repo, KeyEncryptionKey kek) {
        return BackupPipeline.builder()
                .source(PgDumpSource.builder(pg.endpoint(), db).build())
                .compress(ZstdTransform.level(3))
                .encrypt(Encryption.with(kek))
                .repository(repo)
                .build().run();
    }

    private static Fingerprints fingerprints(Connection c, Fingerprints like) throws Exception {
        c.setAutoCommit(false);
        try {
            return PgFingerprints.compute(c, like);
        } finally {
            c.rollback();
        }
    }

    private static String one(Connection c, String sql) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void streamedCustomDump_isLoadedByEveryJob_andEqualsTheSourceExactly() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("awkward", repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        PostgresRestore.Report r = PostgresRestore.builder(restore, pg.endpoint(), "awkward_copy").jobs(2).build().run(m);

        assertThat(r.dataSessions()).isEqualTo(2);
        Fingerprints expected = m.fingerprints().orElseThrow();
        try (Connection c = pg.connect("awkward_copy")) {
            assertThat(expected.differencesFrom(fingerprints(c, expected))).isEmpty();
            assertThat(one(c, "SELECT count(*) FROM app.child")).isEqualTo("60001");
            assertThat(one(c, "SELECT count(*) FROM app.child WHERE body = E'\\\\.'")).isEqualTo("60");
            assertThat(one(c, "SELECT max(length(body)) FROM app.child")).isEqualTo(Integer.toString(120000 * 32));
            assertThat(one(c, "SELECT nextval('app.counter')")).isEqualTo("4243");
            assertThat(one(c, "SELECT nextval('app.child_id_seq')")).isEqualTo("60002");
            assertThat(one(c, "SELECT has_table_privilege('reader', 'app.parent', 'SELECT')")).isEqualTo("t");
            assertThat(one(c, "SELECT obj_description('app.child'::regclass)")).isEqualTo("lines of a parent");
            assertThat(one(c, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'app.child'::regclass"))
                    .isEqualTo("1");
            assertThat(one(c, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'app' AND indexname = 'child_parent'"))
                    .isEqualTo("1");
            try (Connection source = pg.connect("awkward")) {
                for (String q : new String[] {
                        "SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid), '; '"
                                + " ORDER BY conrelid::regclass::text, conname) FROM pg_constraint"
                                + " WHERE connamespace IN ('app'::regnamespace, '\"Other Schema\"'::regnamespace)",
                        "SELECT string_agg(indexdef, '; ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'app'",
                        "SELECT string_agg(tgname || ' ' || pg_get_triggerdef(oid), '; ' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal",
                        "SELECT obj_description('app.child_parent'::regclass)"}) {
                    assertThat(one(c, q)).as(q).isNotNull().isEqualTo(one(source, q));
                }
                assertThat(one(c, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated"
                        + " AND connamespace = 'app'::regnamespace")).isEqualTo("5");
                for (String t : new String[] {"app.events_2025", "app.events_2026", "app.\"Mixed Case\"", "app.parent", "app.a", "app.b"}) {
                    assertThat(one(c, "SELECT count(*) FROM " + t)).as(t).isEqualTo(one(source, "SELECT count(*) FROM " + t));
                }
            }
        }
    }

    @Test
    void dumpInAnotherEncoding_isRestoredInThatEncoding_inOneSession_exactly() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("latin", repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        PostgresRestore.Report r = PostgresRestore.builder(restore, pg.endpoint(), "latin_copy").jobs(2).build().run(m);

        assertThat(m.attributes()).containsEntry("postgresql.encoding", "LATIN1").containsEntry("postgresql.lc_collate", "C");
        assertThat(r.dataSessions()).isEqualTo(1);
        try (Connection c = pg.connect("latin_copy")) {
            assertThat(one(c, "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'latin_copy'"))
                    .isEqualTo("LATIN1");
            assertThat(m.fingerprints().orElseThrow().differencesFrom(fingerprints(c, m.fingerprints().get()))).isEmpty();
            assertThat(one(c, "SELECT s FROM t WHERE id = 7")).isEqualTo("caf\u00e97");
        }
    }

    @Test
    void tableOfContentsOf17MiB_isReadWhole_andTheDataStillLoadedByEveryJob() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("wordy", repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        PostgresRestore.Report r = PostgresRestore.builder(restore, pg.endpoint(), "wordy_copy").jobs(2).build().run(m);

        assertThat(r.dataSessions()).isEqualTo(2);
        try (Connection c = pg.connect("wordy_copy")) {
            assertThat(m.fingerprints().orElseThrow().differencesFrom(fingerprints(c, m.fingerprints().get()))).isEmpty();
            assertThat(one(c, "SELECT length(obj_description('t'::regclass))")).isEqualTo(Integer.toString(17 << 20));
            assertThat(one(c, "SELECT md5(obj_description('t'::regclass))"))
                    .isEqualTo(one(c, "SELECT md5(repeat('0123456789abcdef', 17 * 65536))"));
            assertThat(one(c, "SELECT indexdef FROM pg_indexes WHERE indexname = 't_s'"))
                    .isEqualTo("CREATE INDEX t_s ON public.t USING btree (s)");
        }
    }

    @Test
    void dumpWithLargeObjects_isLoadedInOneSession_exactly() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("blobs", repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        PostgresRestore.Report r = PostgresRestore.builder(restore, pg.endpoint(), "blobs_copy").jobs(2).build().run(m);

        assertThat(r.dataSessions()).isEqualTo(1);
        try (Connection c = pg.connect("blobs_copy")) {
            assertThat(m.fingerprints().orElseThrow().differencesFrom(fingerprints(c, m.fingerprints().get()))).isEmpty();
            assertThat(one(c, "SELECT convert_from(lo_get(doc), 'UTF8') FROM t WHERE id = 7")).isEqualTo("large object");
        }
    }
}
