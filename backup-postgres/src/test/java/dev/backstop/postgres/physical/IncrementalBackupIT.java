package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.ExpiryReport;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import dev.backstop.postgres.wal.WalReceiver;
import java.io.IOException;
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
import java.util.LinkedHashMap;
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
 * One cluster with {@code wal_log_hints = on}, backed up full, incr, diff, incr, incr while
 * pgbench writes, with relations truncated, extended, dropped and created between the backups.
 * The tables the tests compare change only between backups; pgbench's tables change during them
 * and are checked by pgbench's own invariant (balances equal the history's deltas).
 */
class IncrementalBackupIT {
    static final String[] TABLES = {"still", "shrinking", "growing", "doomed", "newcomer"};
    static Path dir;
    static Repository repo;
    static LocalKeysetKek kek;
    static EphemeralPostgres pg;
    static Restore restore;
    static WalArchive wal;
    static WalReceiver receiver;
    static long restorePointLsn;
    static final List<Point> points = new ArrayList<>();
    static final Map<String, String> files = new HashMap<>();

    /** A backup and what the source held when it was taken. */
    record Point(Manifest backup, Map<String, String> tables, long historyBefore, long historyAfter) {
    }

    @BeforeAll
    static void chain() throws Exception {
        dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "backstop-incr-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        repo = Repository.filesystem(dir.resolve("repo"));
        kek = LocalKeysetKek.create(dir.resolve("kek.json"));
        pg = EphemeralPostgres.builder().setting("wal_log_hints", "on").start();
        restore = Restore.builder().repository(repo).keys(kek).build();
        wal = WalArchive.builder(repo, Long.parseLong(one("SELECT system_identifier FROM pg_control_system()"))).keys(kek).build();
        receiver = WalReceiver.builder(pg.endpoint(), wal).workDir(dir.resolve("receiving"))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build();
        receiver.start();
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
        take(BackupLevel.FULL);
        // the visibility map of 'still' loses bits without its pages' LSN moving: the fork must travel whole
        sql("UPDATE still SET note = note || '!' WHERE id % 1000 = 0",
                "INSERT INTO growing SELECT g, repeat('g', 100) FROM generate_series(1001, 31000) g",
                "DELETE FROM shrinking WHERE id > 5000",
                "VACUUM shrinking",
                "DROP TABLE doomed",
                "CREATE TABLE newcomer AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 5000) g");
        remember("newcomer");
        take(BackupLevel.INCR);
        sql("UPDATE growing SET pad = 'updated' WHERE id % 7 = 0",
                "INSERT INTO shrinking SELECT g, repeat('r', 100) FROM generate_series(30001, 32000) g");
        take(BackupLevel.DIFF);
        sql("DELETE FROM still WHERE id % 3 = 0",
                "INSERT INTO newcomer SELECT g, md5(g::text) FROM generate_series(5001, 6000) g");
        take(BackupLevel.INCR);
        sql("CREATE TABLE marker(name text)", "INSERT INTO marker VALUES ('after the third increment')");
        restorePointLsn = WalFile.parseLsn(one("SELECT pg_create_restore_point('after-incr-2')::text"));
        sql("TRUNCATE growing",
                "INSERT INTO growing SELECT g, 'after truncate' FROM generate_series(1, 100) g",
                "UPDATE still SET note = 'last' WHERE id < 50");
        take(BackupLevel.INCR);
    }

    @AfterAll
    static void stop() throws Exception {
        if (receiver != null) {
            receiver.close();
        }
        if (pg != null) {
            pg.close();
        }
        if (dir != null) {
            PointInTimeRecovery.deleteQuietly(dir);
        }
    }

    @Test
    void levels_buildAChainOfParentsWithItsLengthRecorded() {
        Manifest full = points.get(0).backup();
        Manifest incr1 = points.get(1).backup();
        Manifest diff = points.get(2).backup();
        Manifest incr2 = points.get(3).backup();
        Manifest incr3 = points.get(4).backup();
        assertThat(full.parent()).isEmpty();
        assertThat(full.attributes()).containsEntry("postgresql.backup_level", "full").containsEntry("postgresql.chain_length", "1");
        assertThat(incr1.parent()).contains(full.id());
        assertThat(incr1.attributes()).containsEntry("postgresql.backup_level", "incr").containsEntry("postgresql.chain_length", "2")
                .containsEntry("postgresql.increment_from_lsn", full.consistency().properties().get(BaseBackupSource.START_LSN));
        assertThat(diff.parent()).as("a diff builds on the last full").contains(full.id());
        assertThat(diff.attributes()).containsEntry("postgresql.backup_level", "diff").containsEntry("postgresql.chain_length", "2");
        assertThat(incr2.parent()).contains(diff.id());
        assertThat(incr3.parent()).contains(incr2.id());
        assertThat(incr3.attributes()).containsEntry("postgresql.chain_length", "4");
        long read = Long.parseLong(incr3.attributes().get("postgresql.pages_read"));
        long copied = Long.parseLong(incr3.attributes().get("postgresql.pages_copied"));
        assertThat(copied).isPositive().isLessThan(read);
        assertThat(incr3.storedBytes()).isLessThan(full.storedBytes());
    }

    @Test
    void increment_holdsNewShrunkAndMapFilesWholeAndChangedRelationsAsPageMaps() throws Exception {
        Map<String, Long> tar = entries(points.get(1).backup());
        String still = files.get("still");
        String growing = files.get("growing");
        assertThat(tar).as("new relation whole").containsKey(files.get("newcomer"));
        assertThat(tar).as("shrunk relation whole").containsKey(files.get("shrinking"));
        assertThat(tar).as("extended relation as pages").containsKey(PageMap.entryName(growing)).doesNotContainKey(growing);
        assertThat(tar).as("visibility map whole").containsKey(still + "_vm");
        assertThat(tar).doesNotContainKey(files.get("doomed")).doesNotContainKey(PageMap.entryName(files.get("doomed")));
        String manifest = backupManifest(points.get(1).backup());
        assertThat(manifest).as("the whole cluster is listed").contains("\"" + still + "\"").contains("\"" + growing + "\"")
                .doesNotContain("\"" + files.get("doomed") + "\"");
    }

    @Test
    void restore_ofEachPoint_equalsTheSourceThenAndPassesPgVerifybackup() throws Exception {
        for (Point p : points) {
            Path target = newDir("backstop-incr-restore-");
            PointInTimeRecovery.builder(restore, p.backup()).build().restoreTo(target.resolve("data"));
            verifybackup(target.resolve("data"));
            try (EphemeralPostgres restored = EphemeralPostgres.builder().startExisting(target, "postgres", pg.endpoint().password())) {
                assertSame(restored, p);
            }
        }
    }

    @Test
    void recover_ofTheNewestIncrement_runsAServerAtItsConsistentPoint() throws Exception {
        Point newest = points.get(points.size() - 1);
        try (EphemeralPostgres restored = PointInTimeRecovery.builder(restore, newest.backup())
                .credentials("postgres", pg.endpoint().password()).build().recover()) {
            assertSame(restored, newest);
            try (Connection c = restored.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("INSERT INTO still VALUES (999999, 'written after recovery')");
            }
        }
    }

    @Test
    void recover_ofAChainToARestorePointAfterIt_replaysTheArchivedWalOnTopOfTheRebuiltChain() throws Exception {
        Point p = points.get(3);
        PgTimelineSwitchIT.await("WAL up to the restore point archived", () -> receiver.rpo().archivedLsn() >= restorePointLsn,
                receiver::rpo);
        try (EphemeralPostgres restored = PointInTimeRecovery.builder(restore, p.backup()).archive(wal)
                .target(RecoveryTarget.restorePoint("after-incr-2")).credentials("postgres", pg.endpoint().password())
                .timeout(Duration.ofMinutes(2)).build().recover();
             Connection c = restored.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT string_agg(name, ',') FROM marker")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("after the third increment");
            assertThat(tables(restored)).as("the compared tables did not change between the backup and the restore point")
                    .isEqualTo(p.tables());
        }
    }

    @Test
    void restore_ofAChainWithATamperedMiddleBackup_failsNamingItAndLeavesNoTarget() throws Exception {
        Path copy = copyRepository();
        Manifest diff = points.get(2).backup();
        Path object = ((dev.backstop.core.fs.FileSystemSink) Repository.filesystem(copy).sink())
                .pathOf(Repository.dataKey(diff.id(), BaseBackupSource.STREAM));
        byte[] b = Files.readAllBytes(object);
        b[b.length / 2] = (byte) (b[b.length / 2] ^ 0x40);
        Files.write(object, b);
        Restore tampered = Restore.builder().repository(Repository.filesystem(copy)).keys(kek).build();
        Path target = newDir("backstop-incr-tampered-");
        Manifest newest = points.get(4).backup();

        assertThatThrownBy(() -> PointInTimeRecovery.builder(tampered, newest).build().restoreTo(target.resolve("data")))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.backupId()).as("%s", e).contains(diff.id()))
                .hasMessageContaining("backup " + diff.id()).hasMessageContaining("integrity");
        try (Stream<Path> left = Files.list(target)) {
            assertThat(left).as("neither the target nor a partial directory").isEmpty();
        }
    }

    @Test
    void restore_ofAChainWhoseFullBackupIsTamperedNearItsEnd_failsNamingIt_whileTheIncrementsAreReadAlongside() throws Exception {
        Path copy = copyRepository();
        Manifest full = points.get(0).backup();
        Path object = ((dev.backstop.core.fs.FileSystemSink) Repository.filesystem(copy).sink())
                .pathOf(Repository.dataKey(full.id(), BaseBackupSource.STREAM));
        byte[] b = Files.readAllBytes(object);
        int at = b.length - b.length / 20;
        b[at] = (byte) (b[at] ^ 0x40);
        Files.write(object, b);
        Restore tampered = Restore.builder().repository(Repository.filesystem(copy)).keys(kek).build();
        Path target = newDir("backstop-incr-tampered-full-");

        assertThatThrownBy(() -> PointInTimeRecovery.builder(tampered, points.get(4).backup()).build()
                .restoreTo(target.resolve("data")))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.backupId()).as("%s", e).contains(full.id()))
                .hasMessageContaining("backup " + full.id()).hasMessageContaining("integrity");
        try (Stream<Path> left = Files.list(target)) {
            assertThat(left).as("neither the target nor a partial directory").isEmpty();
        }
    }

    @Test
    void restore_ofAChainWhoseMiddleObjectIsGone_failsNamingIt_andLeavesNoTarget() throws Exception {
        Path copy = copyRepository();
        Manifest diff = points.get(2).backup();
        Files.delete(((dev.backstop.core.fs.FileSystemSink) Repository.filesystem(copy).sink())
                .pathOf(Repository.dataKey(diff.id(), BaseBackupSource.STREAM)));
        Restore missing = Restore.builder().repository(Repository.filesystem(copy)).keys(kek).build();
        Path target = newDir("backstop-incr-missing-");

        assertThatThrownBy(() -> PointInTimeRecovery.builder(missing, points.get(4).backup()).build()
                .restoreTo(target.resolve("data")))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.backupId()).as("%s", e).contains(diff.id()))
                .hasMessageContaining("backup " + diff.id()).hasMessageContaining("missing");
        try (Stream<Path> left = Files.list(target)) {
            assertThat(left).as("neither the target nor a partial directory").isEmpty();
        }
    }

    @Test
    void restore_interruptedWhileTheOlderBackupsAreRead_waitsForEveryReadToStop_andLeavesNoDirectory() throws Exception {
        Path target = newDir("backstop-incr-interrupted-");
        Thread caller = Thread.currentThread();
        List<Thread> chainReaders = new java.util.concurrent.CopyOnWriteArrayList<>();
        // the threads the chain restore creates for the older backups interrupt the caller as they start
        java.util.concurrent.ThreadFactory threads = r -> {
            boolean chainRead = StackWalker.getInstance().walk(frames -> frames.anyMatch(f -> f.getMethodName().equals("readOlder")));
            Thread t = new Thread(chainRead ? () -> {
                caller.interrupt();
                r.run();
            } : r);
            t.setDaemon(true);
            if (chainRead) {
                chainReaders.add(t);
            }
            return t;
        };

        boolean stillInterrupted;
        try {
            assertThatThrownBy(() -> PointInTimeRecovery.builder(restore, points.get(4).backup()).threadFactory(threads).build()
                    .restoreTo(target.resolve("data")))
                    .isInstanceOf(BackupException.class).hasMessageContaining("interrupted");
        } finally {
            stillInterrupted = Thread.interrupted();
        }

        assertThat(stillInterrupted).as("the caller's interrupt status is kept").isTrue();
        assertThat(chainReaders).isNotEmpty().allSatisfy(t -> assertThat(t.isAlive()).as(t.getName()).isFalse());
        try (Stream<Path> left = Files.list(target)) {
            assertThat(left).as("neither the target nor a partial directory").isEmpty();
        }
    }

    @Test
    void restore_ofAChainWithAnEditedMiddleManifest_failsNamingItBeforeWritingAnything() throws Exception {
        Path copy = copyRepository();
        Manifest diff = points.get(2).backup();
        Path manifest = ((dev.backstop.core.fs.FileSystemSink) Repository.filesystem(copy).sink()).pathOf(Repository.manifestKey(diff.id()));
        String json = Files.readString(manifest);
        String edited = json.replace("\"diff\"", "\"full\"");
        assertThat(edited).as("the level is in the manifest").isNotEqualTo(json);
        Files.writeString(manifest, edited);
        Restore tampered = Restore.builder().repository(Repository.filesystem(copy)).keys(kek).build();
        Path target = newDir("backstop-incr-edited-");

        assertThatThrownBy(() -> PointInTimeRecovery.builder(tampered, points.get(4).backup()).build().restoreTo(target.resolve("data")))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.backupId()).as("%s", e).contains(diff.id()))
                .hasMessageContaining(diff.id().value()).hasMessageContaining("cannot be trusted");
        try (Stream<Path> left = Files.list(target)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void increment_whoseParentIsGone_isRefusedToRestoreAndToBuildOn() throws Exception {
        Path copy = copyRepository();
        Repository r = Repository.filesystem(copy);
        Manifest parent = points.get(3).backup();
        r.withKeys(kek).catalog().delete(parent.id());
        Restore gone = Restore.builder().repository(r).keys(kek).build();
        Path target = newDir("backstop-incr-orphan-");

        assertThatThrownBy(() -> PointInTimeRecovery.builder(gone, points.get(4).backup()).build().restoreTo(target.resolve("data")))
                .isInstanceOf(BackupException.class).hasMessageContaining(parent.id().value()).hasMessageContaining("missing");
        assertThat(target.resolve("data")).doesNotExist();
        assertThatThrownBy(() -> backup(r, gone, DataDirectorySource.builder(pg.endpoint(), data(pg)).level(BackupLevel.INCR)
                .parent(parent.id()).parents(gone).build()))
                .isInstanceOf(BackupException.class).hasMessageContaining(parent.id().value()).hasMessageContaining("not in the repository");
    }

    @Test
    void expiry_keepsTheChainOfEveryKeptBackupAndEachStillRestores() throws Exception {
        Path copy = copyRepository();
        Repository r = Repository.filesystem(copy).withKeys(kek);
        Restore after = Restore.builder().repository(Repository.filesystem(copy)).keys(kek).build();
        assertThat(after.verify(points.get(4).backup()).passed()).isTrue();
        ExpiryReport report = Expiry.builder().repository(r).planner(RetentionPlanner.of(RetentionPolicy.keepLast(1))).build().run();
        assertThat(report.deletedBackups()).containsExactly(points.get(1).backup().id());
        for (int i : new int[] {0, 2, 3, 4}) {
            Path target = newDir("backstop-incr-kept-");
            PointInTimeRecovery.builder(after, points.get(i).backup()).build().restoreTo(target.resolve("data"));
            assertThat(target.resolve("data/backup_manifest")).exists();
        }
    }

    @Test
    void incr_pastTheChainLimit_isTakenFull_withoutReadingTheBackupItWouldHaveBuiltOn() throws Exception {
        Repository r = Repository.filesystem(dir.resolve("repo-limit"));
        Restore rr = Restore.builder().repository(r).keys(kek).build();
        List<Manifest> taken = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            if (i == 2) {
                // the newest backup's backup_manifest is read only to build on it: past the limit, it is not needed
                Files.delete(dir.resolve("repo-limit/backups/" + taken.get(1).id().value() + "/" + ChainPlanner.MANIFEST_STREAM));
            }
            taken.add(backup(r, rr, DataDirectorySource.builder(pg.endpoint(), data(pg)).level(BackupLevel.INCR)
                    .maxChainLength(2).parents(rr).build()));
        }
        assertThat(taken.get(0).attributes()).containsEntry("postgresql.backup_level", "full");
        assertThat(taken.get(0).attributes().get("postgresql.backup_level_reason")).contains("no earlier");
        assertThat(taken.get(1).attributes()).containsEntry("postgresql.backup_level", "incr");
        assertThat(taken.get(1).parent()).contains(taken.get(0).id());
        assertThat(taken.get(2).attributes()).containsEntry("postgresql.backup_level", "full");
        assertThat(taken.get(2).attributes().get("postgresql.backup_level_reason")).contains("limit of 2");
        assertThat(taken.get(2).parent()).isEmpty();
    }

    @Test
    void incr_ofAClusterWithoutHintLogging_orOnAnotherClustersBackup_isRefused() throws Exception {
        Repository r = Repository.filesystem(dir.resolve("repo-other"));
        Restore rr = Restore.builder().repository(r).keys(kek).build();
        try (EphemeralPostgres other = EphemeralPostgres.start()) {
            Manifest otherFull = backup(r, rr, DataDirectorySource.builder(other.endpoint(), data(other)).build());
            assertThatThrownBy(() -> backup(r, rr, DataDirectorySource.builder(other.endpoint(), data(other))
                    .level(BackupLevel.INCR).parents(rr).build()))
                    .isInstanceOf(BackupException.class).hasMessageContaining("wal_log_hints");
            String otherSystem = otherFull.consistency().properties().get(BaseBackupSource.SYSTEM_IDENTIFIER);
            String ours = points.get(0).backup().consistency().properties().get(BaseBackupSource.SYSTEM_IDENTIFIER);
            assertThatThrownBy(() -> backup(r, rr, DataDirectorySource.builder(pg.endpoint(), data(pg)).level(BackupLevel.INCR)
                    .parent(otherFull.id()).parents(rr).build()))
                    .isInstanceOf(BackupException.class).hasMessageContaining(otherSystem).hasMessageContaining(ours);
        }
    }

    @Test
    void increment_takenWhileTablesAreCreatedAndDropped_restoresEachWhole_andLeavesOutUnloggedAndTemporaryRelations()
            throws Exception {
        Repository r = Repository.filesystem(dir.resolve("repo-churn"));
        Restore rr = Restore.builder().repository(r).keys(kek).build();
        sql("CREATE UNLOGGED TABLE scratch(id int, note text)",
                "INSERT INTO scratch SELECT g, repeat('u', 100) FROM generate_series(1, 5000) g");
        String scratch = one("SELECT pg_relation_filepath('scratch')");
        backup(r, rr, DataDirectorySource.builder(pg.endpoint(), data(pg)).build());
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Manifest incr;
        String tempFile;
        try (Connection session = pg.connect("postgres"); Statement temp = session.createStatement()) {
            temp.execute("CREATE TEMP TABLE kept_temp AS SELECT generate_series(1, 1000) g");
            try (ResultSet rs = temp.executeQuery("SELECT pg_relation_filepath('kept_temp')")) {
                rs.next();
                tempFile = rs.getString(1);
            }
            CompletableFuture<Integer> churn = CompletableFuture.supplyAsync(() -> {
                int i = 0;
                try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
                    while (!stop.get()) {
                        st.execute("CREATE TABLE churn_" + i + " AS SELECT generate_series(1, 2000) g");
                        if (i > 0) {
                            st.execute("DROP TABLE churn_" + (i - 1));
                        }
                        i++;
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                return i;
            });
            PgTimelineSwitchIT.await("a churn table", () -> {
                try {
                    return count("SELECT count(*) FROM pg_class WHERE relname LIKE 'churn%'") > 0;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, () -> "none");
            try {
                incr = backup(r, rr, DataDirectorySource.builder(pg.endpoint(), data(pg)).level(BackupLevel.INCR).parents(rr).build());
            } finally {
                stop.set(true);
            }
            assertThat(churn.join()).as("tables created during the backup").isGreaterThan(1);
        }
        assertThat(incr.parent()).isPresent();
        Map<String, Long> tar = new HashMap<>();
        try (InputStream in = rr.open(incr, BaseBackupSource.STREAM); TarArchiveInputStream t = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = t.getNextEntry()) != null) {
                tar.put(e.getName(), e.getSize());
            }
        }
        assertThat(tar).as("unlogged main fork left out, init fork kept").doesNotContainKey(scratch)
                .doesNotContainKey(PageMap.entryName(scratch)).containsKey(scratch + "_init");
        assertThat(tar.keySet()).as("temporary relation " + tempFile).noneMatch(n -> n.endsWith(tempFile.substring(tempFile.lastIndexOf('/'))));

        Path target = newDir("backstop-incr-churn-");
        PointInTimeRecovery.builder(rr, incr).build().restoreTo(target.resolve("data"));
        verifybackup(target.resolve("data"));
        try (EphemeralPostgres restored = EphemeralPostgres.builder().startExisting(target, "postgres", pg.endpoint().password());
             Connection c = restored.connect("postgres"); Statement st = c.createStatement()) {
            List<String> churned = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT relname FROM pg_class WHERE relname LIKE 'churn%' ORDER BY relname")) {
                while (rs.next()) {
                    churned.add(rs.getString(1));
                }
            }
            assertThat(churned).isNotEmpty();
            for (String t : churned) {
                try (ResultSet rs = st.executeQuery("SELECT count(*), sum(g) FROM " + t)) {
                    rs.next();
                    assertThat(rs.getLong(1)).as(t).isEqualTo(2000);
                    assertThat(rs.getLong(2)).as(t).isEqualTo(2000L * 2001 / 2);
                }
            }
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM scratch")) {
                rs.next();
                assertThat(rs.getLong(1)).as("an unlogged table comes back empty").isZero();
            }
        }
    }

    // ---- helpers

    /** Takes a backup of {@code level} while pgbench writes, and records the compared tables right after. */
    static void take(BackupLevel level) throws Exception {
        long before = count("SELECT count(*) FROM pgbench_history");
        CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
            try {
                pgbench(pg, "-n", "-c", "2", "-T", "3");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        awaitPgbench();
        Manifest m = backup(repo, restore, DataDirectorySource.builder(pg.endpoint(), data(pg)).level(level).parents(restore).build());
        load.join();
        points.add(new Point(m, tables(pg), before, count("SELECT count(*) FROM pgbench_history")));
    }

    static Manifest backup(Repository r, Restore rr, DataDirectorySource source) {
        return BackupPipeline.builder().source(source).compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek))
                .repository(r).build().run();
    }

    /** Each compared table's row count and the MD5 of its rows in order, or "absent". */
    static Map<String, String> tables(EphemeralPostgres server) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        try (Connection c = server.connect("postgres"); Statement st = c.createStatement()) {
            for (String t : TABLES) {
                try (ResultSet rs = st.executeQuery("SELECT to_regclass('" + t + "') IS NULL")) {
                    rs.next();
                    if (rs.getBoolean(1)) {
                        out.put(t, "absent");
                        continue;
                    }
                }
                try (ResultSet rs = st.executeQuery("SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') "
                        + "FROM " + t + " x")) {
                    rs.next();
                    out.put(t, rs.getString(1));
                }
            }
        }
        return out;
    }

    static void assertSame(EphemeralPostgres restored, Point p) throws Exception {
        assertThat(tables(restored)).as("tables of " + p.backup().id()).isEqualTo(p.tables());
        try (Connection c = restored.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers), "
                     + "(SELECT sum(bbalance) FROM pgbench_branches), (SELECT coalesce(sum(delta), 0) FROM pgbench_history), "
                     + "(SELECT count(*) FROM pgbench_history), (SELECT count(*) FROM pg_check_visible('still')), "
                     + "(SELECT count(*) FROM pgbench_accounts)")) {
            rs.next();
            long accounts = rs.getLong(1);
            assertThat(rs.getLong(2)).as("tellers balance the accounts").isEqualTo(accounts);
            assertThat(rs.getLong(3)).as("branches balance the accounts").isEqualTo(accounts);
            assertThat(rs.getLong(4)).as("history's deltas balance the accounts").isEqualTo(accounts);
            assertThat(rs.getLong(5)).isBetween(p.historyBefore(), p.historyAfter());
            assertThat(rs.getLong(6)).as("no all-visible bit on a page with a row not visible to all").isZero();
            assertThat(rs.getLong(7)).isEqualTo(100000);
        }
    }

    static void remember(String... tables) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            for (String t : tables) {
                try (ResultSet rs = st.executeQuery("SELECT pg_relation_filepath('" + t + "')")) {
                    rs.next();
                    files.put(t, rs.getString(1));
                }
            }
        }
    }

    /** Tar entry name to size of a backup's base.tar. */
    static Map<String, Long> entries(Manifest m) throws IOException {
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

    static String backupManifest(Manifest m) throws IOException {
        try (InputStream in = restore.open(m, ChainPlanner.MANIFEST_STREAM)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    static void verifybackup(Path data) throws Exception {
        Process p = new ProcessBuilder(PgTools.locate().tool("pg_verifybackup").toString(), data.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).contains("backup successfully verified");
    }

    static Path newDir(String prefix) throws IOException {
        Path d = Files.createTempDirectory(dir, prefix);
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        return d;
    }

    static Path copyRepository() throws IOException {
        Path copy = newDir("backstop-incr-repo-").resolve("repo");
        Path from = dir.resolve("repo");
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

    static Path data(EphemeralPostgres server) {
        return server.directory().resolve("data");
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
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(query)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void awaitPgbench() throws Exception {
        PgTimelineSwitchIT.await("a pgbench client connected", () -> {
            try {
                return count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'") > 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, () -> "none in pg_stat_activity");
    }

    static void pgbench(EphemeralPostgres server, String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of(PgTools.locate().tool("pgbench").toString(), "-h", server.endpoint().host(),
                "-p", Integer.toString(server.endpoint().port()), "-U", server.endpoint().user()));
        a.addAll(List.of(args));
        a.add("postgres");
        ProcessBuilder pb = new ProcessBuilder(a).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("PGPASSWORD", server.endpoint().password());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("pgbench " + List.of(args) + " exited " + p.exitValue() + ": " + out);
        }
    }
}
