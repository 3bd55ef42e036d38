package dev.backstop.postgres.logical;

import dev.backstop.postgres.SharedPostgres;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.validate.Validators;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.Shop;
import dev.backstop.postgres.internal.ServerFailures;
import dev.backstop.postgres.internal.ToolProcess;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class PgBadInputIT {
    @TempDir
    Path tmp;

    @RegisterExtension
    static final SharedPostgres pg = SharedPostgres.withShop("shop", 500);

    private BackupPipeline pipeline(CaptureSource source, Repository repo, KeyEncryptionKey kek) {
        return BackupPipeline.builder().source(source).compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek))
                .repository(repo).build();
    }

    private static void assertNothingPublished(Repository repo) throws IOException {
        assertThat(repo.catalog().list()).isEmpty();
        assertThat(repo.sink().list("backups/")).isEmpty();
    }

    @Test
    void databaseKilledMidDump_failsTheBackup_andPublishesNothing() throws Exception {
        try (EphemeralPostgres victim = EphemeralPostgres.start()) {
            victim.createDatabase("big");
            try (Connection c = victim.connect("big"); Statement st = c.createStatement()) {
                // ~40 MB of dump: far more than the pipe and socket buffers hold when the server dies
                st.execute("CREATE TABLE blob AS SELECT g AS id, repeat(md5(g::text), 40) AS v FROM generate_series(1, 30000) g");
            }
            CaptureSource dump = PgDumpSource.builder(victim.endpoint(), "big").build();
            CaptureSource killing = new CaptureSource() {
                @Override
                public BackupType type() {
                    return dump.type();
                }

                @Override
                public CaptureResult capture(Streams streams) throws IOException {
                    return dump.capture(name -> new FilterOutputStream(streams.open(name)) {
                        boolean killed;

                        @Override
                        public void write(byte[] b, int off, int len) throws IOException {
                            if (!killed) {
                                killed = true;
                                victim.kill();
                            }
                            out.write(b, off, len);
                        }
                    });
                }
            };
            Repository repo = Repository.filesystem(tmp.resolve("repo"));

            assertThatThrownBy(() -> pipeline(killing, repo, LocalKeysetKek.create(tmp.resolve("kek.json"))).run())
                    .isInstanceOf(CaptureException.class)
                    .hasMessageContaining("pg_dump")
                    .satisfies(e -> assertThat(((CaptureException) e).exitCode()).isPresent());
            assertNothingPublished(repo);
        }
    }

    @Test
    void wrongPassword_failsWithTheServersReason_andNeverShowsThePassword() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        PgEndpoint wrong = PgEndpoint.of("127.0.0.1", pg.endpoint().port(), "postgres", "not-the-password-4711");
        CaptureSource source = PgDumpSource.builder(wrong, "shop").build();

        assertThatThrownBy(() -> pipeline(source, repo, LocalKeysetKek.create(tmp.resolve("kek.json"))).run())
                .isInstanceOf(CaptureException.class)
                .hasMessageContaining("password authentication failed")
                .hasMessageContaining("28P01")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("not-the-password-4711"))
                .satisfies(e -> assertThat(((CaptureException) e).retryable()).as("a wrong password stays wrong").isFalse());
        assertThat(source.toString()).doesNotContain("not-the-password-4711");
        assertNothingPublished(repo);
    }

    @Test
    void missingDatabase_isNotRetryable() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        assertThatThrownBy(() -> pipeline(PgDumpSource.builder(pg.endpoint(), "no_such_db").build(), repo,
                LocalKeysetKek.create(tmp.resolve("kek.json"))).run())
                .isInstanceOf(CaptureException.class)
                .hasMessageContaining("3D000")
                .satisfies(e -> assertThat(((CaptureException) e).retryable()).isFalse());
        assertNothingPublished(repo);
    }

    @Test
    @SuppressWarnings("try") // the held session is what keeps the shutting-down server up
    void serverShuttingDown_thenStopped_failsRetryably_throughJdbcAndInPgDumpsOwnWords() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        PgEndpoint endpoint;
        try (EphemeralPostgres victim = EphemeralPostgres.start()) {
            endpoint = victim.endpoint();
            try (Connection holding = victim.connect("postgres")) {
                // SIGTERM is a smart shutdown: the open session keeps the server up, new ones are turned away
                long pid = Long.parseLong(Files.readAllLines(victim.directory().resolve("data/postmaster.pid")).get(0).strip());
                assertThat(ProcessHandle.of(pid).orElseThrow().destroy()).isTrue();
                awaitSqlState(endpoint, "57P03");

                assertThatThrownBy(() -> pipeline(PgDumpSource.builder(endpoint, "postgres").build(), repo, kek).run())
                        .isInstanceOf(CaptureException.class)
                        .hasMessageContaining("the database system is shutting down")
                        .satisfies(e -> assertThat(((CaptureException) e).retryable()).isTrue());
                String stderr = pgDumpStderr(endpoint);
                assertThat(stderr).contains("the database system is shutting down");
                assertThat(ServerFailures.retryable(stderr)).isTrue();
            }
        }

        assertThatThrownBy(() -> pipeline(PgDumpSource.builder(endpoint, "postgres").build(), repo, kek).run())
                .isInstanceOf(CaptureException.class)
                .hasMessageContaining("refused")
                .satisfies(e -> assertThat(((CaptureException) e).retryable()).as("the server may come back").isTrue());
        String stderr = pgDumpStderr(endpoint);
        assertThat(stderr).contains("Connection refused");
        assertThat(ServerFailures.retryable(stderr)).isTrue();
        assertNothingPublished(repo);

        String wrongPassword = pgDumpStderr(PgEndpoint.of("127.0.0.1", pg.endpoint().port(), "postgres", "not-it"));
        assertThat(wrongPassword).contains("password authentication failed");
        assertThat(ServerFailures.retryable(wrongPassword)).isFalse();
    }

    @SuppressWarnings("try") // connecting is the probe; the connection itself is not used
    private static void awaitSqlState(PgEndpoint endpoint, String state) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        String last = null;
        while (System.nanoTime() < deadline) {
            try (Connection c = endpoint.connect("postgres")) {
                last = "connected";
            } catch (java.sql.SQLException e) {
                if (state.equals(e.getSQLState())) {
                    return;
                }
                last = e.getSQLState() + " " + e.getMessage();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no SQLSTATE " + state + " within 30 s; last: " + last);
    }

    /** What the real pg_dump writes to stderr when it cannot dump {@code postgres} on {@code endpoint}. */
    private static String pgDumpStderr(PgEndpoint endpoint) throws Exception {
        try (ToolProcess p = ToolProcess.start(PgTools.locate().tool("pg_dump"), new java.util.ArrayList<>(List.of("--schema-only",
                "--dbname=postgres")), endpoint, null, ProcessBuilder.Redirect.DISCARD)) {
            assertThat(p.waitFor()).as("pg_dump exit code").isNotZero();
            return p.stderrTail();
        }
    }

    @Test
    void pgDumpMissing_failsNamingTheProgramAndWhereItLooked() throws Exception {
        Path emptyBin = Files.createDirectory(tmp.resolve("bin"));
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        CaptureSource source = PgDumpSource.builder(pg.endpoint(), "shop").tools(PgTools.in(emptyBin)).build();

        assertThatThrownBy(() -> pipeline(source, repo, LocalKeysetKek.create(tmp.resolve("kek.json"))).run())
                .isInstanceOf(CaptureException.class)
                .hasMessageContaining("pg_dump not found")
                .hasMessageContaining(emptyBin.toString());
        assertNothingPublished(repo);
    }

    @Test
    void pgDumpOlderThanTheServer_isRefusedBeforeItRuns() throws Exception {
        // only one PostgreSQL is installed here, so an old pg_dump is a script reporting an old version
        Path bin = Files.createDirectory(tmp.resolve("old-bin"));
        Path marker = tmp.resolve("ran");
        Path fake = bin.resolve("pg_dump");
        Files.writeString(fake, "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 13.2'; exit 0; fi\n"
                + "touch " + marker + "\nexit 0\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        CaptureSource source = PgDumpSource.builder(pg.endpoint(), "shop").tools(PgTools.in(bin)).build();

        assertThatThrownBy(() -> pipeline(source, repo, LocalKeysetKek.create(tmp.resolve("kek.json"))).run())
                .isInstanceOf(CaptureException.class)
                .hasMessageContaining("is PostgreSQL 13 but the server is " + pg.version())
                .hasMessageContaining("PostgreSQL 15 or newer");
        assertThat(marker).doesNotExist();
        assertNothingPublished(repo);
    }

    @Test
    void nonEmptyTarget_isRefused_andLeftAsItWas() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = pipeline(PgDumpSource.builder(pg.endpoint(), "shop").build(), repo, kek).run();
        pg.createDatabase("occupied");
        try (Connection c = pg.connect("occupied"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE precious (id int)");
            st.execute("INSERT INTO precious VALUES (1), (2)");
        }
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        assertThatThrownBy(() -> PostgresRestore.builder(restore, pg.endpoint(), "occupied").build().run(m))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("target database 'occupied'")
                .hasMessageContaining("is not empty: it has 1 relations (e.g. public.precious)")
                .hasMessageContaining("allowNonEmpty(true)")
                .satisfies(e -> assertThat(((BackupException) e).stage()).isEqualTo(Stage.RESTORE));
        try (Connection c = pg.connect("occupied"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT (SELECT count(*) FROM precious), "
                     + "(SELECT count(*) FROM pg_namespace WHERE nspname = 'shop')")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(2);
            assertThat(rs.getLong(2)).isZero();
        }
    }

    @Test
    void corruptedRepositoryObject_isDetectedBeforeTheTargetIsTouched() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = pipeline(PgDumpSource.builder(pg.endpoint(), "shop").build(), repo, kek).run();
        StoredObject dump = m.objects().get(0);
        flipByte(tmp.resolve("repo").resolve(dump.key()), dump.storedSize() * 3 / 4);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        assertThatThrownBy(() -> PostgresRestore.builder(restore, pg.endpoint(), "never_created").build().run(m))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining(dump.key());
        assertThat(stagingOrNamed("never_created")).isZero();
        ValidationResult drill = RestoreDrill.builder().build().validate(m, restore);
        assertThat(drill.passed()).isFalse();
        assertThat(drill.findings()).singleElement().asString().contains(dump.key());
        ValidationResult keyless = Validators.storedChecksums().validate(m, Restore.builder().repository(repo).build());
        assertThat(keyless.findings()).singleElement().asString().contains(dump.key()).contains("stored SHA-256");
    }

    @Test
    void corruptionAtTheStartOfTheDump_failsWhileTheStagingDatabaseIsCreated_andLeavesNoDatabase() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = pipeline(PgDumpSource.builder(pg.endpoint(), "shop").build(), repo, kek).run();
        StoredObject dump = m.objects().get(0);
        // inside the first encrypted segment: the very first read fails, racing the database's creation
        flipByte(tmp.resolve("repo").resolve(dump.key()), 100);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        assertThatThrownBy(() -> PostgresRestore.builder(restore, pg.endpoint(), "never_created_early").jobs(2).build().run(m))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining(dump.key());
        assertThat(stagingOrNamed("never_created_early")).isZero();
    }

    @Test
    void roleWithoutTheRightToCreateDatabases_failsNamingTheServersReason_andLeavesNoDatabase() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = pipeline(PgDumpSource.builder(pg.endpoint(), "shop").build(), repo, kek).run();
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE ROLE no_createdb LOGIN NOCREATEDB PASSWORD 'restricted-7'");
        }
        PgEndpoint restricted = PgEndpoint.of("127.0.0.1", pg.endpoint().port(), "no_createdb", "restricted-7");
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        assertThatThrownBy(() -> PostgresRestore.builder(restore, restricted, "not_allowed").jobs(2).build().run(m))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("could not create database 'backstop_staging_")
                .hasMessageContaining("permission denied to create database")
                .satisfies(e -> assertThat(((BackupException) e).stage()).isEqualTo(Stage.RESTORE));
        assertThat(stagingOrNamed("not_allowed")).isZero();
    }

    private static long stagingOrNamed(String name) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_database WHERE datname = '" + name + "' "
                     + "OR datname LIKE 'backstop\\_staging\\_%'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void tableChangedBetweenBackupAndDrill_isReportedWithTableExpectedAndActual() throws Exception {
        pg.createDatabase("drifting");
        try (Connection c = pg.connect("drifting"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE stock (sku int PRIMARY KEY, qty int)");
            st.execute("CREATE TABLE other (id int)");
            st.execute("INSERT INTO stock SELECT g, g FROM generate_series(1, 100) g");
        }
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        CaptureSource source = PgDumpSource.builder(pg.endpoint(), "drifting").build();
        Manifest before = pipeline(source, repo, kek).run();
        try (Connection c = pg.connect("drifting"); Statement st = c.createStatement()) {
            st.execute("UPDATE stock SET qty = 0 WHERE sku = 42");
        }
        Manifest after = pipeline(source, repo, kek).run();
        // the restored content is the changed table, the expectation the earlier one: written by a
        // KEK holder, since a restore refuses a manifest that differs from the authenticated one
        Manifest crossed = after.toBuilder().fingerprints(before.fingerprints().get()).build();
        Files.delete(tmp.resolve("repo").resolve(Repository.manifestKey(after.id())));
        repo.withKeys(kek).catalog().put(crossed);

        ValidationResult r = RestoreDrill.builder().amcheck(false).record(false).build()
                .validate(crossed, Restore.builder().repository(repo).keys(kek).build());

        String expected = before.fingerprints().get().tables().get("public.stock").contentHash();
        String actual = after.fingerprints().get().tables().get("public.stock").contentHash();
        assertThat(expected).isNotEqualTo(actual);
        assertThat(r.findings()).containsExactly("table public.stock: expected content hash " + expected + ", found " + actual);
    }

    private static void flipByte(Path file, long position) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, position);
            b.flip();
            b.put(0, (byte) (b.get(0) ^ 0x5a));
            ch.write(b, position);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
