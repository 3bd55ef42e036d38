package dev.backstop.postgres.logical;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.PostgresProvider;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One awkward source database, one directory-format backup, and one drill server reused by every
 * drill: each alteration is applied to the restored copy just before the drill fingerprints it.
 */
class RestoreDrillExactnessIT {
    static final String[] SCHEMA = {
        "CREATE ROLE app_reader NOLOGIN",
        "CREATE SCHEMA \"Odd Schema\"",
        "CREATE DOMAIN public.positive_int AS int CHECK (VALUE > 0)",
        "CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE SEQUENCE public.orders_id_seq",
        "CREATE TABLE public.orders (id bigint PRIMARY KEY DEFAULT nextval('public.orders_id_seq'), "
                + "qty public.positive_int NOT NULL DEFAULT 1, price numeric(10,2), "
                + "total numeric GENERATED ALWAYS AS (qty * price) STORED, note text COLLATE \"C\", m public.mood)",
        "ALTER SEQUENCE public.orders_id_seq OWNED BY public.orders.id",
        "CREATE TABLE public.audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                + "order_id bigint CONSTRAINT audit_order_fk REFERENCES public.orders (id))",
        "CREATE FUNCTION public.audit_fn() RETURNS trigger LANGUAGE plpgsql AS "
                + "$$BEGIN INSERT INTO public.audit (order_id) VALUES (NEW.id); RETURN NEW; END$$",
        "CREATE TRIGGER audit_trg AFTER INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.audit_fn()",
        "CREATE INDEX orders_note_idx ON public.orders (note)",
        "COMMENT ON TABLE public.orders IS 'customer orders'",
        "ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY own_rows ON public.orders FOR SELECT TO app_reader USING (qty > 0)",
        "GRANT SELECT ON public.orders TO app_reader",
        "CREATE FUNCTION public.add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b'",
        "CREATE TABLE \"Odd Schema\".\"Mixed Case\" (\"Weird Col\" text, id int)",
        "CREATE TABLE public.events (id int, at date NOT NULL, v text) PARTITION BY RANGE (at)",
        "CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
        "CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
        "CREATE TABLE public.vals (id int PRIMARY KEY, n numeric, f float8, j jsonb, a numeric[])",
        "CREATE VIEW public.big_orders AS SELECT id, qty FROM public.orders WHERE qty > 5",
        "CREATE MATERIALIZED VIEW public.order_count AS SELECT count(*) AS n FROM public.orders",
        "INSERT INTO public.orders (qty, price, note, m) SELECT 1 + g % 9, g / 100.0, 'note ' || g, 'ok' "
                + "FROM generate_series(1, 1843) g",
        "INSERT INTO public.events SELECT g, date '2025-06-01' + g, 'e' || g FROM generate_series(1, 400) g",
        "INSERT INTO \"Odd Schema\".\"Mixed Case\" VALUES ('x y', 1), (NULL, 2)",
        "INSERT INTO public.vals VALUES (1, 1.50, 0, '1.0', '{1.50}'), (2, 2, 1.5, '{\"a\": 1.0}', NULL)",
        "REFRESH MATERIALIZED VIEW public.order_count",
    };

    static EphemeralPostgres source;
    static EphemeralPostgres drillServer;
    static Manifest backup;
    static Restore restore;
    static Repository repo;
    @TempDir
    Path tmp;

    @BeforeAll
    static void backupOnce(@TempDir Path tmp) throws Exception {
        source = EphemeralPostgres.start();
        drillServer = EphemeralPostgres.start();
        source.createDatabase("awkward");
        try (Connection c = source.connect("awkward"); Statement st = c.createStatement()) {
            for (String s : SCHEMA) {
                st.execute(s);
            }
        }
        repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        backup = BackupPipeline.builder()
                .source(PgDumpSource.builder(source.endpoint(), "awkward").format(DumpFormat.DIRECTORY).build())
                .encrypt(Encryption.with(kek))
                .repository(repo)
                .build().run();
        restore = Restore.builder().repository(repo).keys(kek).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (source != null) {
            source.close();
        }
        if (drillServer != null) {
            drillServer.close();
        }
    }

    /** Lends the shared drill server; applies {@code alteration} to the restored copy when the drill first looks at it. */
    static PostgresProvider altering(String alteration) {
        return () -> new PostgresInstance() {
            boolean altered = alteration == null;

            @Override
            public PgEndpoint endpoint() {
                return drillServer.endpoint();
            }

            @Override
            public String version() {
                return drillServer.version();
            }

            @Override
            public Connection connect(String database) throws SQLException {
                if (!altered && database.equals("drill")) {
                    altered = true;
                    try (Connection c = drillServer.connect(database); Statement st = c.createStatement()) {
                        st.execute(alteration);
                    }
                }
                return drillServer.connect(database);
            }

            @Override
            public void close() throws IOException {
                try (Connection c = drillServer.connect("postgres"); Statement st = c.createStatement()) {
                    st.execute("DROP DATABASE IF EXISTS drill WITH (FORCE)");
                } catch (SQLException e) {
                    throw new IOException(e);
                }
            }
        };
    }

    static ValidationResult drill(String alteration, RestoreDrill.Builder b) throws IOException {
        return b.provider(altering(alteration)).build().validate(backup, restore);
    }

    @Test
    void unalteredRestore_ofAnAwkwardSchema_passesTheStrictDrill() throws Exception {
        ValidationResult r = drill(null, RestoreDrill.builder().record(false));

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("ownership", "compared").containsEntry("coverage", "full")
                .containsEntry("amcheck", "passed");
        Fingerprints f = backup.fingerprints().orElseThrow();
        assertThat(f.objects()).containsKeys("trigger public.orders.audit_trg", "policy public.orders.own_rows",
                "function public.add(a integer, b integer)", "domain public.positive_int", "type public.mood",
                "table Odd Schema.Mixed Case", "column Odd Schema.Mixed Case.Weird Col", "table public.events_2025",
                "index public.orders_note_idx", "materialized view public.order_count", "role app_reader");
        assertThat(f.objects().get("sequence public.orders_id_seq")).contains("last_value=1843", "is_called=true");
        assertThat(f.objects().get("table public.orders")).contains("row_security=on");
        assertThat(f.tables().values()).allSatisfy(t -> assertThat(t.contentHash()).startsWith("c:"));
    }

    @Test
    void aCustomDumpOfTheSameDatabase_recordsTheSameObjectProofs_withSequencePositionsFromTheDump_andPassesASampledDrill() throws Exception {
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek-custom.json"));
        Repository customRepo = Repository.filesystem(tmp.resolve("repo-custom"));
        Manifest custom = BackupPipeline.builder()
                .source(PgDumpSource.builder(source.endpoint(), "awkward").build())
                .encrypt(Encryption.with(kek))
                .repository(customRepo)
                .build().run();

        assertThat(custom.attributes()).containsEntry("postgresql.fingerprints", "stream");
        assertThat(custom.fingerprints().orElseThrow().objects()).isEqualTo(backup.fingerprints().orElseThrow().objects());
        assertThat(custom.fingerprints().orElseThrow().tables()).isEqualTo(backup.fingerprints().orElseThrow().tables());
        ValidationResult sampled = RestoreDrill.builder().provider(altering(null)).amcheck(false).sample(0.5).build()
                .validate(custom, Restore.builder().repository(customRepo).keys(kek).build());
        assertThat(sampled.findings()).isEmpty();
        assertThat(sampled.measurements()).containsEntry("coverage", "sampled");
    }

    static Stream<Arguments> alterations() {
        return Stream.of(
                Arguments.of("DROP TRIGGER audit_trg ON public.orders", "trigger public.orders.audit_trg: missing"),
                Arguments.of("CREATE OR REPLACE FUNCTION public.add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a - b'",
                        "function public.add(a integer, b integer): definition differs"),
                Arguments.of("SELECT setval('public.orders_id_seq', 1)", "sequence public.orders_id_seq: expected last_value 1843, found 1"),
                Arguments.of("COMMENT ON TABLE public.orders IS 'changed'", "table public.orders: comment differs"),
                Arguments.of("ALTER TABLE \"Odd Schema\".\"Mixed Case\" SET UNLOGGED",
                        "table Odd Schema.Mixed Case: expected persistence permanent, found unlogged"),
                Arguments.of("DROP POLICY own_rows ON public.orders", "policy public.orders.own_rows: missing"),
                Arguments.of("REVOKE SELECT ON public.orders FROM app_reader", "table public.orders: acl differs"),
                Arguments.of("ALTER TABLE public.orders ALTER COLUMN qty SET DEFAULT 2", "column public.orders.qty: default differs"),
                Arguments.of("DROP INDEX public.orders_note_idx", "index public.orders_note_idx: missing"),
                Arguments.of("UPDATE public.vals SET n = 1.5 WHERE id = 1", "table public.vals: expected content hash c:"),
                Arguments.of("UPDATE public.vals SET f = '-0' WHERE id = 1", "table public.vals: expected content hash c:"),
                Arguments.of("UPDATE public.vals SET j = '1' WHERE id = 1", "table public.vals: expected content hash c:"),
                Arguments.of("UPDATE public.vals SET a = '{1.5}' WHERE id = 1", "table public.vals: expected content hash c:"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("alterations")
    void alteredRestore_failsTheDrill_namingTheObject(String alteration, String finding) throws Exception {
        ValidationResult r = drill(alteration, RestoreDrill.builder().record(false).amcheck(false));

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).singleElement().asString().startsWith(finding);
    }

    @Test
    void revokedGrant_passes_whenOwnershipAndPrivilegesAreIgnoredExplicitly() throws Exception {
        ValidationResult r = drill("REVOKE SELECT ON public.orders FROM app_reader",
                RestoreDrill.builder().record(false).amcheck(false).ignoreOwnershipAndPrivileges());

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("ownership", "ignored");
    }

    @Test
    void sampledDrills_rotate_soEveryTableIsProvenWithinTheCycle_andAreRecordedAsSampled() throws Exception {
        ValidationResult first = drill(null, RestoreDrill.builder().amcheck(false).sample(0.5));
        ValidationResult second = drill(null, RestoreDrill.builder().amcheck(false).sample(0.5));
        ValidationResult altered = drill("DROP TRIGGER audit_trg ON public.orders", RestoreDrill.builder().amcheck(false)
                .record(false).sample(0.5));

        assertThat(first.findings()).isEmpty();
        assertThat(second.findings()).isEmpty();
        assertThat(first.measurements()).containsEntry("coverage", "sampled").containsEntry("sample_cycle", "2")
                .containsEntry("sample_round", "0");
        assertThat(second.measurements()).containsEntry("sample_round", "1");
        assertThat(repo.latestValidation(backup.id())).hasValueSatisfying(v ->
                assertThat(v.measurements()).containsEntry("coverage", "sampled"));
        Fingerprints f = backup.fingerprints().orElseThrow();
        Set<String> proven = new HashSet<>(DrillSample.draw(f, 0.5, 0).tables());
        proven.addAll(DrillSample.draw(f, 0.5, 1).tables());
        assertThat(proven).containsExactlyInAnyOrderElementsOf(f.tables().keySet());
        long total = f.totalRows();
        assertThat(Long.parseLong(first.measurements().get("rows")) + Long.parseLong(second.measurements().get("rows")))
                .isGreaterThanOrEqualTo(total);
        // the schema of every object is proven even when its table's data is not in the sample
        assertThat(altered.findings()).containsExactly("trigger public.orders.audit_trg: missing");
    }
}
