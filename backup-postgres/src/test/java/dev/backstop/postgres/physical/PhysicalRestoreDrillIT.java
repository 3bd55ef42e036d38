package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.wal.WalArchive;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One archiving cluster with two databases, backed up once while pgbench writes; restore points
 * recorded while pgbench writes; the drill recovers that backup to its consistent point and to
 * the points. Failure cases tamper with copies or use clusters of their own.
 */
class PhysicalRestoreDrillIT {
    static Archiving src;
    static Manifest backup;
    static Restore restore;
    static RecordedRestorePoint point;
    static RecordedRestorePoint reused;

    @TempDir
    Path tmp;

    @BeforeAll
    static void history() throws Exception {
        src = new Archiving();
        src.pgbench("-i", "-s", "1", "-q");
        exec(src.pg, "postgres", "CREATE TABLE ledger(id bigserial PRIMARY KEY, note text NOT NULL)",
                "INSERT INTO ledger(note) SELECT 'row ' || g FROM generate_series(1, 2000) g",
                "CREATE UNLOGGED TABLE scratch(id int, note text)",
                "INSERT INTO scratch SELECT g, 'x' FROM generate_series(1, 500) g",
                "CREATE DATABASE second");
        exec(src.pg, "second", "CREATE TABLE kv(k text PRIMARY KEY, v jsonb)",
                "INSERT INTO kv SELECT 'k' || g, jsonb_build_object('g', g) FROM generate_series(1, 300) g");
        CompletableFuture<Void> load = load(6);
        src.awaitPgbenchConnected();
        backup = BackupPipeline.builder().source(DataDirectorySource.builder(src.pg.endpoint(), src.pg.directory().resolve("data")).build())
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(src.kek)).repository(src.repo).build().run();
        RestorePoints points = RestorePoints.builder(src.pg.endpoint(), src.repo.withKeys(src.kek)).build();
        // while pgbench still writes: the locks make the point and the fingerprints agree
        point = points.create("drill-point-1");
        load.join();
        exec(src.pg, "postgres", "INSERT INTO ledger(note) SELECT 'later ' || g FROM generate_series(1, 100) g");
        // a point of the same name written straight to the server before the recorded one:
        // recovery stops at this first one, 50 ledger rows short of what was recorded
        exec(src.pg, "postgres", "SELECT pg_create_restore_point('drill-point-2')",
                "INSERT INTO ledger(note) SELECT 'between ' || g FROM generate_series(1, 50) g");
        reused = points.create("drill-point-2");
        exec(src.pg, "postgres", "INSERT INTO ledger(note) VALUES ('after every point')");
        src.archiveAll();
        restore = Restore.builder().repository(src.repo).keys(src.kek).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (src != null) {
            src.close();
        }
    }

    static CompletableFuture<Void> load(int seconds) {
        return CompletableFuture.runAsync(() -> {
            try {
                src.pgbench("-n", "-c", "2", "-T", Integer.toString(seconds));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    static void exec(EphemeralPostgres pg, String db, String... sql) throws Exception {
        try (Connection c = pg.connect(db); Statement st = c.createStatement()) {
            for (String s : sql) {
                st.execute(s);
            }
        }
    }

    static PhysicalRestoreDrill.Builder drill() {
        return PhysicalRestoreDrill.builder().credentials("postgres", src.pg.endpoint().password()).timeout(Duration.ofMinutes(3));
    }

    @Test
    void drill_ofAGoodBackup_toItsConsistentPoint_passes_checksEveryDatabase_andRecordsItsRto() throws Exception {
        ValidationResult r = drill().build().validate(backup, restore);

        assertThat(r.findings()).isEmpty();
        assertThat(r.validator()).isEqualTo("physical-restore-drill");
        assertThat(r.measurements()).containsEntry("target", "consistent").containsEntry("amcheck", "passed")
                .containsEntry("databases", "2").containsEntry("data_checksums", "off")
                .containsEntry("fingerprints", "not-recorded").containsKey("rto_ms");
        assertThat(Long.parseLong(r.measurements().get("rto_ms"))).isNotNegative();
        assertThat(restore.repository().validations(backup.id()))
                .anySatisfy(v -> assertThat(v.measurements()).isEqualTo(r.measurements()));
    }

    @Test
    void drill_toARestorePointRecordedWhilePgbenchWrote_equalsItsFingerprintsInEveryDatabase() throws Exception {
        assertThat(point.databases()).containsOnlyKeys("postgres", "second");
        assertThat(point.databases().get("postgres").tables()).containsKeys("public.pgbench_history", "public.ledger")
                .doesNotContainKey("public.scratch");

        ValidationResult r = drill().archive(src.archive).target(RecoveryTarget.restorePoint("drill-point-1")).build()
                .validate(backup, restore);

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("target", "restore-point:drill-point-1")
                .containsEntry("fingerprints", "compared").containsEntry("amcheck", "passed");
        assertThat(Integer.parseInt(r.measurements().get("tables"))).isEqualTo(
                point.databases().get("postgres").tables().size() + point.databases().get("second").tables().size());
    }

    @Test
    void drill_toAPointWhoseNameTheServerHadAlreadyUsed_findsTheRowsMissingAtTheFirstPoint() throws Exception {
        long recorded = reused.databases().get("postgres").tables().get("public.ledger").rows();

        ValidationResult r = drill().archive(src.archive).target(RecoveryTarget.restorePoint("drill-point-2")).record(false)
                .build().validate(backup, restore);

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).contains("database postgres: table public.ledger: expected " + recorded + " rows, found "
                + (recorded - 50));
    }

    @Test
    void drill_toAPointWhoseRecordWasMovedFromAnotherName_failsNamingTheRecord_withoutRecovering() throws Exception {
        Path points = src.dir.resolve("repo/points/" + WalArchive.streamOf(src.archive.systemId()));
        Files.copy(points.resolve("drill-point-1.json"), points.resolve("moved.json"));
        try {
            ValidationResult r = drill().archive(src.archive).target(RecoveryTarget.restorePoint("moved")).record(false)
                    .build().validate(backup, restore);

            assertThat(r.passed()).isFalse();
            assertThat(r.findings()).singleElement().asString().contains("moved.json");
            assertThat(r.measurements()).doesNotContainKey("rto_ms");
        } finally {
            Files.delete(points.resolve("moved.json"));
        }
    }

    @Test
    void drill_ofABackupWithAFlippedByteInItsStoredObject_failsNamingTheObject() throws Exception {
        Path copy = tmp.resolve("repo");
        try (Stream<Path> files = Files.walk(src.dir.resolve("repo"))) {
            for (Path f : files.toList()) {
                Path to = copy.resolve(src.dir.resolve("repo").relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
        Path stored = copy.resolve(Repository.dataKey(backup.id(), BaseBackupSource.STREAM));
        try (FileChannel ch = FileChannel.open(stored, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            long at = ch.size() / 2;
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x40)).rewind();
            ch.write(b, at);
        }
        Restore tampered = Restore.builder().repository(Repository.filesystem(copy)).keys(src.kek).build();

        ValidationResult r = drill().build().validate(backup, tampered);

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).singleElement().asString().contains(BaseBackupSource.STREAM);
        assertThat(tampered.repository().latestValidation(backup.id())).hasValueSatisfying(v -> assertThat(v.passed()).isFalse());
    }

    @Test
    void drill_ofAClusterWhoseIndexDisagreesWithItsTable_failsNamingTheIndex() throws Exception {
        try (EphemeralPostgres pg = EphemeralPostgres.start()) {
            // an index on a function declared IMMUTABLE that is then changed: the stored index
            // entries no longer match what the heap's rows compute, as after a broken collation update
            exec(pg, "postgres", "CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2'",
                    "CREATE TABLE item(n int NOT NULL)", "INSERT INTO item SELECT g FROM generate_series(1, 1000) g",
                    "CREATE INDEX item_twice ON item (twice(n))",
                    "CREATE OR REPLACE FUNCTION twice(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 3'");
            Repository repo = Repository.filesystem(tmp.resolve("broken"));
            Manifest m = BackupPipeline.builder().source(BaseBackupSource.builder(pg.endpoint()).build()).noEncryption()
                    .repository(repo).build().run();

            ValidationResult r = PhysicalRestoreDrill.builder().credentials("postgres", pg.endpoint().password())
                    .timeout(Duration.ofMinutes(3)).build().validate(m, Restore.builder().repository(repo).build());

            assertThat(r.passed()).isFalse();
            assertThat(r.measurements()).containsEntry("amcheck", "failed");
            assertThat(r.findings()).singleElement().asString().contains("pg_amcheck", "item_twice");
        }
    }

    @Test
    void drill_withoutPgAmcheck_throwsNamingTheToolBeforeFetchingAnything() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        PhysicalRestoreDrill d = drill().tools(PgTools.in(bin)).build();

        assertThatThrownBy(() -> d.validate(backup, restore)).isInstanceOf(BackupException.class)
                .hasMessageContaining("pg_amcheck not found").hasMessageContaining(bin.toString())
                .hasMessageContaining("amcheck(false)");
    }

    @Test
    void builder_refusesATargetThatNeedsWalWithoutAnArchive_andASettingGivenTwice() {
        assertThatThrownBy(() -> PhysicalRestoreDrill.builder().target(RecoveryTarget.latest()).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("set archive(WalArchive)");
        assertThatThrownBy(() -> PhysicalRestoreDrill.builder().jobs(2).jobs(3)).hasMessageContaining("jobs: already set");
    }

    @Test
    void restorePoints_refuseANameAlreadyRecorded_beforeWritingToTheServer() {
        RestorePoints points = RestorePoints.builder(src.pg.endpoint(), src.repo.withKeys(src.kek)).build();

        assertThatThrownBy(() -> points.create("drill-point-1")).isInstanceOf(BackupException.class)
                .hasMessageContaining("'drill-point-1' is already recorded");
        assertThatThrownBy(() -> points.create("no spaces")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("restore point name: got 'no spaces'");
        assertThat(RestorePoints.read(restore.repository(), src.archive.systemId(), "drill-point-1")).hasValue(point);
        assertThat(RestorePoints.read(restore.repository(), src.archive.systemId(), "never-made")).isEmpty();
    }

    @Test
    void restorePoints_behindALongWritingTransaction_giveUpAfterTheLockTimeout_retryably_andRecordNothing() throws Exception {
        RestorePoints points = RestorePoints.builder(src.pg.endpoint(), src.repo.withKeys(src.kek))
                .lockTimeout(Duration.ofMillis(300)).build();
        try (Connection writer = src.pg.connect("postgres"); Statement st = writer.createStatement()) {
            writer.setAutoCommit(false);
            st.execute("INSERT INTO ledger(note) VALUES ('uncommitted')");

            assertThatThrownBy(() -> points.create("blocked-point")).isInstanceOf(BackupException.class)
                    .hasMessageContaining("could not be locked within PT0.3S")
                    .satisfies(e -> assertThat(((BackupException) e).retryable()).isTrue());
            writer.rollback();
        }
        assertThat(RestorePoints.read(restore.repository(), src.archive.systemId(), "blocked-point")).isEmpty();
    }
}
