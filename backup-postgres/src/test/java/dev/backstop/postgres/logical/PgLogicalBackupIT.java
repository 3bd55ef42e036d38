package dev.backstop.postgres.logical;

import dev.backstop.postgres.SharedPostgres;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.Shop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class PgLogicalBackupIT {
    @TempDir
    Path tmp;

    @RegisterExtension
    static final SharedPostgres pg = SharedPostgres.withShop("shop", 2000);

    Manifest backup(DumpFormat format, Repository repo, KeyEncryptionKey kek) {
        return BackupPipeline.builder()
                .source(PgDumpSource.builder(pg.endpoint(), "shop").format(format).build())
                .compress(ZstdTransform.level(3))
                .encrypt(Encryption.with(kek))
                .repository(repo)
                .build().run();
    }

    @Test
    void customDump_restoreDrill_reproducesEveryFingerprint() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(DumpFormat.CUSTOM, repo, kek);

        assertThat(m.objects()).extracting(o -> o.name()).containsExactly("dump.pgc");
        assertThat(m.fingerprints()).isPresent();
        assertThat(m.fingerprints().get().tables()).containsKeys("shop.customer", "shop.orders", "shop.order_line",
                "shop.product", "public.empty_table");
        assertThat(m.fingerprints().get().tables().get("shop.customer").rows()).isEqualTo(2000);
        assertThat(m.fingerprints().get().tables().get("shop.order_line").rows()).isEqualTo(18000);

        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        ValidationResult r = RestoreDrill.builder().build().validate(m, restore);

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("amcheck", "passed").containsEntry("rows", "26200")
                .containsKey("rto_ms");
        assertThat(repo.latestValidation(m.id())).hasValueSatisfying(v -> {
            assertThat(v.validator()).isEqualTo("restore-drill");
            assertThat(v.passed()).isTrue();
        });
    }

    @Test
    void capture_recordsConsistencyPointAndServerFacts() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = backup(DumpFormat.CUSTOM, repo, LocalKeysetKek.create(tmp.resolve("kek.json")));

        assertThat(m.source().engine()).isEqualTo("postgresql");
        assertThat(m.source().version()).isEqualTo(pg.version());
        assertThat(m.consistency().properties()).containsKeys("snapshot_id", "snapshot", "lsn", "timestamp");
        assertThat(m.consistency().properties().get("lsn")).matches("[0-9A-F]+/[0-9A-F]+");
        assertThat(m.attributes()).containsEntry("postgresql.format", "custom").containsKey("postgresql.database_size_bytes");
        assertThat(Long.parseLong(m.attributes().get("postgresql.database_size_bytes"))).isPositive();
        assertThat(m.fingerprints().get().schemaHash()).startsWith("sha256:");
    }

    @Test
    void directoryDump_travelsAsOneTar_andRestoresExactly() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(DumpFormat.DIRECTORY, repo, kek);

        assertThat(m.objects()).extracting(o -> o.name()).containsExactly("dump.tar");
        ValidationResult r = RestoreDrill.builder().amcheck(false).build()
                .validate(m, Restore.builder().repository(repo).keys(kek).build());
        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("tables", "5");
    }

    @Test
    void plainDump_restoresThroughPsql_exactly() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(DumpFormat.PLAIN, repo, kek);

        assertThat(m.objects()).extracting(o -> o.name()).containsExactly("dump.sql");
        ValidationResult r = RestoreDrill.builder().amcheck(false).build()
                .validate(m, Restore.builder().repository(repo).keys(kek).build());
        assertThat(r.findings()).isEmpty();
    }

    @Test
    void changesAfterTheSnapshot_areNotInTheBackup_andTheDrillStillPasses() throws Exception {
        pg.createDatabase("moving");
        try (Connection c = pg.connect("moving"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t (id int PRIMARY KEY, v text)");
            st.execute("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        }
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = BackupPipeline.builder().source(PgDumpSource.builder(pg.endpoint(), "moving").build())
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).repository(repo).build().run();
        try (Connection c = pg.connect("moving"); Statement st = c.createStatement()) {
            st.execute("UPDATE t SET v = 'changed' WHERE id <= 10");
            st.execute("INSERT INTO t VALUES (1001, 'new')");
        }

        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        ValidationResult r = RestoreDrill.builder().amcheck(false).build().validate(m, restore);

        assertThat(r.findings()).isEmpty();
        assertThat(m.fingerprints().get().tables().get("public.t").rows()).isEqualTo(1000);
    }

    @Test
    void restore_ofOneTable_restoresOnlyThatTable() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(DumpFormat.CUSTOM, repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        try (EphemeralPostgres target = EphemeralPostgres.start()) {
            target.createDatabase("one");
            try (Connection c = target.connect("one"); Statement st = c.createStatement()) {
                st.execute("CREATE SCHEMA shop");
            }
            PostgresRestore.Report report = PostgresRestore.builder(restore, target.endpoint(), "one")
                    .table("product").schema("shop").allowNonEmpty(true).build().run(m);

            assertThat(report.plaintextBytes()).isEqualTo(m.plaintextBytes());
            try (Connection c = target.connect("one"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT string_agg(tablename, ',' ORDER BY tablename), "
                         + "(SELECT count(*) FROM shop.product) FROM pg_tables WHERE schemaname = 'shop'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("product");
                assertThat(rs.getLong(2)).isEqualTo(200);
            }
        }
    }

    @Test
    void restore_createsAMissingTargetDatabase_andLoadsEveryRow() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(DumpFormat.CUSTOM, repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        try (EphemeralPostgres target = EphemeralPostgres.start()) {
            PostgresRestore.builder(restore, target.endpoint(), "copy").jobs(2).build().run(m);
            try (Connection c = target.connect("copy")) {
                c.setAutoCommit(false);
                assertThat(m.fingerprints().get().differencesFrom(PgFingerprints.compute(c, m.fingerprints().get()))).isEmpty();
            }
        }
    }

    @Test
    void streamingRestore_renamesItsStagingDatabase_andLeavesNoOtherDatabase() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(DumpFormat.CUSTOM, repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        try (EphemeralPostgres target = EphemeralPostgres.start()) {
            PostgresRestore.Report report = PostgresRestore.builder(restore, target.endpoint(), "streamed").build().run(m);

            assertThat(report.plaintextBytes()).isEqualTo(m.plaintextBytes());
            assertThat(databases(target)).containsExactly("postgres", "streamed");
            try (Connection c = target.connect("streamed")) {
                c.setAutoCommit(false);
                assertThat(m.fingerprints().get().differencesFrom(PgFingerprints.compute(c, m.fingerprints().get()))).isEmpty();
            }
        }
    }

    @Test
    void spooledRestore_withParallelJobs_reproducesEveryFingerprint() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(DumpFormat.CUSTOM, repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        try (EphemeralPostgres target = EphemeralPostgres.start()) {
            PostgresRestore.builder(restore, target.endpoint(), "spooled").streaming(false).jobs(2).build().run(m);

            assertThat(databases(target)).containsExactly("postgres", "spooled");
            try (Connection c = target.connect("spooled")) {
                c.setAutoCommit(false);
                assertThat(m.fingerprints().get().differencesFrom(PgFingerprints.compute(c, m.fingerprints().get()))).isEmpty();
            }
        }
    }

    @Test
    void streamingRestore_whoseToolFails_dropsItsStagingDatabase_andCreatesNoTarget() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(DumpFormat.CUSTOM, repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        // a pg_restore that reads a little, complains and exits: the stream meets a closed pipe
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path fake = bin.resolve("pg_restore");
        Files.writeString(fake, "#!/bin/sh\nhead -c 1000 >/dev/null\necho 'simulated: relation exploded' >&2\nexit 3\n");
        assertThat(fake.toFile().setExecutable(true)).isTrue();

        try (EphemeralPostgres target = EphemeralPostgres.start()) {
            assertThatThrownBy(() -> PostgresRestore.builder(restore, target.endpoint(), "never").tools(PgTools.in(bin))
                    .build().run(m))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("pg_restore exited 3")
                    .hasMessageContaining("simulated: relation exploded");
            assertThat(databases(target)).containsExactly("postgres");
        }
    }

    private static List<String> databases(EphemeralPostgres db) throws Exception {
        List<String> names = new ArrayList<>();
        try (Connection c = db.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }
}
