package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.IncrementalBackupIT.assertSame;
import static dev.backstop.postgres.physical.IncrementalBackupIT.pgbench;
import static dev.backstop.postgres.physical.IncrementalBackupIT.tables;
import static dev.backstop.postgres.physical.IncrementalBackupIT.verifybackup;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.ExpiryReport;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Increments through pg_basebackup: one cluster with data checksums, backed up full and incr by
 * {@link BaseBackupSource}, then incr by {@link DataDirectorySource} and diff by {@link
 * BaseBackupSource} again, while pgbench writes, with relations extended, shrunk, dropped and
 * created between the backups. Each point restores to what the source held then, and the restore
 * drill passes on the mixed chain and fails naming the backup on a broken copy of it.
 */
class BaseBackupIncrementIT {
    static Path dir;
    static Repository repo;
    static LocalKeysetKek kek;
    static EphemeralPostgres pg;
    static Restore restore;
    static final List<IncrementalBackupIT.Point> points = new ArrayList<>();
    static final Map<String, String> files = new HashMap<>();

    @BeforeAll
    static void chain() throws Exception {
        dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "backstop-bbincr-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        repo = Repository.filesystem(dir.resolve("repo"));
        kek = LocalKeysetKek.create(dir.resolve("kek.json"));
        pg = EphemeralPostgres.builder().dataChecksums(true).start();
        restore = Restore.builder().repository(repo).keys(kek).build();
        pgbench(pg, "-i", "-s", "1", "-q");
        sql("CREATE EXTENSION pg_visibility",
                "CREATE TABLE still(id int PRIMARY KEY, note text)",
                "INSERT INTO still SELECT g, 'row ' || g FROM generate_series(1, 20000) g",
                "CREATE TABLE shrinking(id int, pad text)",
                "INSERT INTO shrinking SELECT g, repeat('s', 100) FROM generate_series(1, 20000) g",
                "CREATE TABLE growing(id int, pad text)",
                "INSERT INTO growing SELECT g, repeat('g', 100) FROM generate_series(1, 1000) g",
                "CREATE TABLE doomed(id int)",
                "INSERT INTO doomed SELECT generate_series(1, 1000)",
                "VACUUM (FREEZE, ANALYZE)",
                "CHECKPOINT");
        remember("still", "shrinking", "growing", "doomed");
        take(BaseBackupSource.builder(pg.endpoint()).parents(restore).level(BackupLevel.INCR).build());
        sql("UPDATE still SET note = note || '!' WHERE id % 1000 = 0",
                "INSERT INTO growing SELECT g, repeat('g', 100) FROM generate_series(1001, 31000) g",
                "DELETE FROM shrinking WHERE id > 5000",
                "VACUUM shrinking",
                "DROP TABLE doomed",
                "CREATE TABLE newcomer AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 5000) g");
        remember("newcomer");
        take(BaseBackupSource.builder(pg.endpoint()).parents(restore).level(BackupLevel.INCR).build());
        sql("UPDATE growing SET pad = 'updated' WHERE id % 7 = 0",
                "INSERT INTO shrinking SELECT g, repeat('r', 100) FROM generate_series(30001, 32000) g");
        take(DataDirectorySource.builder(pg.endpoint(), pg.directory().resolve("data")).parents(restore).level(BackupLevel.INCR)
                .build());
        sql("DELETE FROM still WHERE id % 3 = 0",
                "TRUNCATE growing",
                "INSERT INTO growing SELECT g, 'after truncate' FROM generate_series(1, 100) g",
                "INSERT INTO newcomer SELECT g, md5(g::text) FROM generate_series(5001, 6000) g");
        take(BaseBackupSource.builder(pg.endpoint()).parents(restore).level(BackupLevel.DIFF).build());
    }

    @AfterAll
    static void stop() throws Exception {
        if (pg != null) {
            pg.close();
        }
        if (dir != null) {
            PointInTimeRecovery.deleteQuietly(dir);
        }
    }

    @Test
    void baseBackupSource_buildsIncrementsOnItsOwnAndOnDataDirectoryBackups_withTheSameLevelsAndChain() {
        Manifest full = points.get(0).backup();
        Manifest incr = points.get(1).backup();
        Manifest mixed = points.get(2).backup();
        Manifest diff = points.get(3).backup();
        assertThat(full.attributes()).containsEntry("postgresql.capture", "basebackup")
                .containsEntry("postgresql.backup_level", "full").containsEntry("postgresql.hint_bits_logged", "true");
        assertThat(full.attributes().get("postgresql.backup_level_reason")).contains("no earlier");
        assertThat(full.object(ChainPlanner.MANIFEST_STREAM)).as("the parent's file list, stored beside its tar").isPresent();
        assertThat(incr.parent()).contains(full.id());
        assertThat(incr.attributes()).containsEntry("postgresql.capture", "basebackup").containsEntry("postgresql.backup_level", "incr")
                .containsEntry("postgresql.increment_from_lsn", full.consistency().properties().get(BaseBackupSource.START_LSN));
        assertThat(mixed.parent()).as("a DataDirectorySource increment on a BaseBackupSource one").contains(incr.id());
        assertThat(mixed.attributes()).containsEntry("postgresql.capture", "datadir").containsEntry("postgresql.chain_length", "3");
        assertThat(diff.parent()).contains(full.id());
        assertThat(diff.attributes()).containsEntry("postgresql.capture", "basebackup").containsEntry("postgresql.backup_level", "diff");
        long read = Long.parseLong(incr.attributes().get("postgresql.pages_read"));
        long copied = Long.parseLong(incr.attributes().get("postgresql.pages_copied"));
        assertThat(copied).isPositive().isLessThan(read);
        assertThat(incr.storedBytes()).as("an increment stores less than the full backup").isLessThan(full.storedBytes() / 2);
    }

    @Test
    void baseBackupIncrement_holdsNewAndShrunkFilesWholeAndChangedRelationsAsPageMaps() throws Exception {
        Map<String, Long> tar = entries(points.get(1).backup());
        String growing = files.get("growing");
        assertThat(tar).as("new relation whole").containsKey(files.get("newcomer"));
        assertThat(tar).as("shrunk relation whole").containsKey(files.get("shrinking"));
        assertThat(tar).as("extended relation as pages").containsKey(PageMap.entryName(growing)).doesNotContainKey(growing);
        assertThat(tar).as("a few rows updated: pages only").containsKey(PageMap.entryName(files.get("still")))
                .doesNotContainKey(files.get("still"));
        assertThat(tar).as("dropped").doesNotContainKey(files.get("doomed")).doesNotContainKey(PageMap.entryName(files.get("doomed")));
        assertThat(tar).as("pg_basebackup's manifest and WAL travel as they are").containsKey("backup_manifest")
                .containsKey("backup_label").containsKey(points.get(1).backup().consistency().properties()
                        .get(BaseBackupSource.START_WAL_FILE).transform(w -> "pg_wal/" + w));
    }

    @Test
    void restore_ofEachPoint_equalsTheSourceThenAndPassesPgVerifybackup() throws Exception {
        for (IncrementalBackupIT.Point p : points) {
            Path target = Files.createTempDirectory(dir, "restore-");
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
            PointInTimeRecovery.builder(restore, p.backup()).build().restoreTo(target.resolve("data"));
            verifybackup(target.resolve("data"));
            try (EphemeralPostgres restored = EphemeralPostgres.builder().startExisting(target, "postgres", pg.endpoint().password())) {
                assertSame(restored, p);
            }
        }
    }

    @Test
    void incr_throughPgBasebackup_ofAClusterWithoutDataChecksums_isRefusedSayingSo() throws Exception {
        Repository r = Repository.filesystem(dir.resolve("repo-nochecksums"));
        Restore rr = Restore.builder().repository(r).keys(kek).build();
        try (EphemeralPostgres other = EphemeralPostgres.builder().setting("wal_log_hints", "on").start()) {
            assertThatThrownBy(() -> backup(r, BaseBackupSource.builder(other.endpoint()).level(BackupLevel.INCR).parents(rr).build()))
                    .isInstanceOf(BackupException.class).hasMessageContaining("data checksums")
                    .hasMessageContaining("DataDirectorySource");
            assertThat(r.withKeys(kek).catalog().list()).as("nothing published").isEmpty();
        }
    }

    @Test
    void drill_ofAMixedChain_passes_checkingEveryDatabaseAndTheDataChecksums() throws Exception {
        Manifest mixed = points.get(2).backup();

        ValidationResult r = drill().validate(mixed, restore);

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("amcheck", "passed").containsEntry("data_checksums", "on")
                .containsEntry("checksum_failures", "0").containsKey("rto_ms");
        assertThat(restore.repository().latestValidation(mixed.id())).hasValueSatisfying(v -> assertThat(v.passed()).isTrue());
    }

    @Test
    void drill_ofAChainWhoseMiddleBackupWasTampered_failsNamingThatBackup() throws Exception {
        Path copy = copyRepository();
        Manifest middle = points.get(1).backup();
        Path object = copy.resolve(Repository.dataKey(middle.id(), BaseBackupSource.STREAM));
        byte[] b = Files.readAllBytes(object);
        b[b.length / 2] ^= 0x40;
        Files.write(object, b);
        Restore tampered = Restore.builder().repository(Repository.filesystem(copy)).keys(kek).build();

        ValidationResult r = drill().validate(points.get(2).backup(), tampered);

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).singleElement().asString().contains("backup " + middle.id()).contains("integrity");
        assertThat(tampered.repository().latestValidation(points.get(2).backup().id()))
                .hasValueSatisfying(v -> assertThat(v.passed()).isFalse());
    }

    @Test
    void drill_ofAChainWhoseMiddleBackupIsGone_failsNamingTheMissingParent() throws Exception {
        Path copy = copyRepository();
        Manifest middle = points.get(1).backup();
        Repository.filesystem(copy).withKeys(kek).catalog().delete(middle.id());
        Restore gone = Restore.builder().repository(Repository.filesystem(copy)).keys(kek).build();

        ValidationResult r = drill().validate(points.get(2).backup(), gone);

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).singleElement().asString().contains(middle.id().value()).contains("missing");
    }

    @Test
    void incr_onAParentThatRetentionExpired_isRefusedNamingIt_whileTheKeptDiffStillRestores() throws Exception {
        Path copy = copyRepository();
        Repository r = Repository.filesystem(copy).withKeys(kek);
        Restore after = Restore.builder().repository(Repository.filesystem(copy)).keys(kek).build();
        // the newest backup verified, so that it is the one the planner's guard keeps
        assertThat(after.verify(points.get(3).backup()).passed()).isTrue();
        ExpiryReport report = Expiry.builder().repository(r).planner(RetentionPlanner.of(RetentionPolicy.keepLast(1))).build().run();
        Manifest expired = points.get(1).backup();
        assertThat(report.deletedBackups()).as("the diff and its full are kept").contains(expired.id())
                .doesNotContain(points.get(3).backup().id(), points.get(0).backup().id());

        assertThatThrownBy(() -> backup(Repository.filesystem(copy), BaseBackupSource.builder(pg.endpoint()).level(BackupLevel.INCR)
                .parent(expired.id()).parents(after).build()))
                .isInstanceOf(BackupException.class).hasMessageContaining(expired.id().value())
                .hasMessageContaining("not in the repository (expired or never taken)");
        Path target = Files.createTempDirectory(dir, "kept-");
        PointInTimeRecovery.builder(after, points.get(3).backup()).build().restoreTo(target.resolve("data"));
        verifybackup(target.resolve("data"));
    }

    // ---- helpers

    static PhysicalRestoreDrill drill() {
        return PhysicalRestoreDrill.builder().credentials("postgres", pg.endpoint().password()).workDir(dir)
                .timeout(Duration.ofMinutes(3)).build();
    }

    static Path copyRepository() throws Exception {
        Path from = dir.resolve("repo");
        Path copy = Files.createTempDirectory(dir, "repo-copy-").resolve("repo");
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path t = copy.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        return copy;
    }

    /** Takes a backup while pgbench writes, and records the compared tables right after. */
    static void take(CaptureSource source) throws Exception {
        long before = count("SELECT count(*) FROM pgbench_history");
        CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
            try {
                pgbench(pg, "-n", "-c", "2", "-T", "3");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        PgTimelineSwitchIT.await("a pgbench client connected", () -> {
            try {
                return count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'") > 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, () -> "none in pg_stat_activity");
        Manifest m = backup(repo, source);
        load.join();
        points.add(new IncrementalBackupIT.Point(m, tables(pg), before, count("SELECT count(*) FROM pgbench_history")));
    }

    static Manifest backup(Repository r, CaptureSource source) {
        return BackupPipeline.builder().source(source).compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek))
                .repository(r).build().run();
    }

    static Map<String, Long> entries(Manifest m) throws Exception {
        Map<String, Long> out = new HashMap<>();
        try (InputStream in = restore.open(m, BaseBackupSource.STREAM); TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                out.merge(e.getName(), e.getSize(), Long::sum);
            }
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return out;
    }

    static void remember(String... tables) throws Exception {
        for (String t : tables) {
            files.put(t, one("SELECT pg_relation_filepath('" + t + "')"));
        }
    }

    static void sql(String... statements) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    static String one(String query) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(query)) {
            rs.next();
            return rs.getString(1);
        }
    }

    static long count(String query) throws Exception {
        return Long.parseLong(one(query));
    }
}
