package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.wal.WalFile;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One archiving cluster backed up once by {@link DataDirectorySource} while pgbench writes; the
 * tests restore, recover and inspect that backup. Failure cases use clusters of their own.
 */
class DataDirectorySourceIT {
    static Archiving src;
    static Manifest backup;
    static Restore restore;
    static long historyBefore;
    static long historyAfterLoad;
    static String unloggedFile;
    static List<String> tarNames;

    @TempDir
    Path tmp;

    @BeforeAll
    static void history() throws Exception {
        src = new Archiving();
        src.pgbench("-i", "-s", "1", "-q");
        try (Connection c = src.pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE still(id int PRIMARY KEY, note text)");
            st.execute("INSERT INTO still SELECT g, 'row ' || g FROM generate_series(1, 10000) g");
            st.execute("CREATE UNLOGGED TABLE scratch(id int, note text)");
            st.execute("INSERT INTO scratch SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g");
            st.execute("CREATE TABLE marker(name text PRIMARY KEY)");
            st.execute("INSERT INTO marker VALUES ('before-start')");
            st.execute("SELECT pg_create_physical_replication_slot('kept_slot')");
            st.execute("CHECKPOINT");
            try (ResultSet rs = st.executeQuery("SELECT pg_relation_filepath('scratch'), (SELECT count(*) FROM pgbench_history)")) {
                rs.next();
                unloggedFile = rs.getString(1);
                historyBefore = rs.getLong(2);
            }
        }
        Files.writeString(data(src.pg).resolve("pg_stat_tmp/backstop_probe.stat"), "left out");
        CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
            try {
                src.pgbench("-n", "-c", "2", "-T", "4");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        src.awaitPgbenchConnected();
        backup = BackupPipeline.builder().source(DataDirectorySource.builder(src.pg.endpoint(), data(src.pg)).build())
                .compress(ZstdTransform.builder().level(3).workers(2).build())
                .encrypt(Encryption.with(src.kek)).repository(src.repo).build().run();
        load.join();
        try (Connection c = src.pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pgbench_history")) {
            rs.next();
            historyAfterLoad = rs.getLong(1);
        }
        restore = Restore.builder().repository(src.repo).keys(src.kek).build();
        tarNames = new ArrayList<>();
        try (InputStream in = restore.open(backup, BaseBackupSource.STREAM); TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                tarNames.add(e.getName());
            }
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (src != null) {
            src.close();
        }
    }

    static Path data(EphemeralPostgres pg) {
        return pg.directory().resolve("data");
    }

    @Test
    void capture_whilePgbenchWrites_restoresToADirectoryThatFullPgVerifybackupAcceptsAndAServerStartsFrom() throws Exception {
        // the server's OS user must reach it: not under the test's private temporary directory
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "backstop-datadir-",
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
        PointInTimeRecovery.builder(restore, backup).build().restoreTo(dir.resolve("data"));

        ProcessBuilder pb = new ProcessBuilder(PgTools.locate().tool("pg_verifybackup").toString(), dir.resolve("data").toString())
                .redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).contains("backup successfully verified");

        try (EphemeralPostgres restored = EphemeralPostgres.builder().startExisting(dir, "postgres", src.pg.endpoint().password());
             Connection c = restored.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT (SELECT count(*) FROM still), (SELECT sum(id) FROM still), "
                     + "(SELECT count(*) FROM marker WHERE name = 'before-start'), (SELECT count(*) FROM scratch), "
                     + "(SELECT count(*) FROM pgbench_accounts), (SELECT count(*) FROM pgbench_history)")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(10000);
            assertThat(rs.getLong(2)).isEqualTo(10000L * 10001 / 2);
            assertThat(rs.getLong(3)).isEqualTo(1);
            assertThat(rs.getLong(4)).as("unlogged table exists and is empty").isZero();
            assertThat(rs.getLong(5)).isEqualTo(100000);
            assertThat(rs.getLong(6)).isBetween(historyBefore, historyAfterLoad);
        }
    }

    @Test
    void capture_recordsTheSameConsistencyKeysAndLogRangeAsBaseBackupSource() {
        assertThat(backup.type()).isEqualTo(BackupType.PHYSICAL);
        Map<String, String> point = backup.consistency().properties();
        assertThat(point).containsOnlyKeys(BaseBackupSource.SYSTEM_IDENTIFIER, BaseBackupSource.TIMELINE, BaseBackupSource.START_LSN,
                BaseBackupSource.STOP_LSN, BaseBackupSource.START_WAL_FILE, BaseBackupSource.START_TIME);
        assertThat(point).containsEntry(BaseBackupSource.SYSTEM_IDENTIFIER, Long.toUnsignedString(src.archive.systemId()))
                .containsEntry(BaseBackupSource.TIMELINE, "1");
        long start = WalFile.parseLsn(point.get(BaseBackupSource.START_LSN));
        long stop = WalFile.parseLsn(point.get(BaseBackupSource.STOP_LSN));
        assertThat(stop).isGreaterThan(start);
        assertThat(point.get(BaseBackupSource.START_WAL_FILE)).isEqualTo(WalFile.segmentOf(1, start).name());
        assertThat(backup.requiredLogs()).hasValueSatisfying(r -> {
            assertThat(r.stream()).isEqualTo("wal/" + Long.toUnsignedString(src.archive.systemId()));
            assertThat(r.start()).isEqualTo(start);
            assertThat(r.end()).isEqualTo(stop);
        });
        assertThat(backup.objects()).extracting(o -> o.name()).containsExactly(BaseBackupSource.STREAM, "backup_manifest");
        assertThat(backup.attributes()).containsEntry("postgresql.capture", "datadir")
                .containsEntry("postgresql.tar_entries", Integer.toString(tarNames.size()))
                .containsKeys("postgresql.server_version_num", "postgresql.cluster_size_bytes", "postgresql.tar_bytes");
    }

    @Test
    void tar_leavesOutWhatBasebackupLeavesOut_andKeepsTheDirectories() {
        assertThat(tarNames).doesNotContain("postmaster.pid", "postmaster.opts", "pg_stat_tmp/backstop_probe.stat",
                unloggedFile, unloggedFile + "_fsm", unloggedFile + "_vm");
        assertThat(tarNames).noneMatch(n -> n.startsWith("pg_replslot/kept_slot"));
        assertThat(tarNames).noneMatch(n -> n.endsWith("pg_internal.init"));
        assertThat(tarNames).contains(unloggedFile + "_init", "pg_replslot/", "pg_stat_tmp/", "pg_wal/", "pg_wal/archive_status/",
                "backup_label", "global/pg_control", "PG_VERSION");
        String startSegment = backup.consistency().properties().get(BaseBackupSource.START_WAL_FILE);
        assertThat(tarNames).contains("pg_wal/" + startSegment, "pg_wal/archive_status/" + startSegment + ".done");
        assertThat(tarNames.get(tarNames.size() - 1)).isEqualTo("backup_manifest");
        assertThat(tarNames.indexOf("global/pg_control")).isGreaterThan(tarNames.indexOf("base/1/"));
    }

    @Test
    void recover_toLatest_fromADataDirectoryBackup_replaysTheArchive() throws Exception {
        try (Connection c = src.pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("INSERT INTO marker VALUES ('after-backup') ON CONFLICT DO NOTHING");
        }
        src.archiveAll();
        try (EphemeralPostgres pg = PointInTimeRecovery.builder(restore, backup).archive(src.archive).target(RecoveryTarget.latest())
                .credentials("postgres", src.pg.endpoint().password()).timeout(java.time.Duration.ofMinutes(2)).build().recover();
             Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT string_agg(name, ',' ORDER BY name), pg_is_in_recovery() FROM marker")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("after-backup,before-start");
            assertThat(rs.getBoolean(2)).isFalse();
        }
    }

    @Test
    void capture_ofAnotherClustersDirectory_isRefusedNamingBothSystemIdentifiers_andPublishesNothing() throws Exception {
        try (EphemeralPostgres other = EphemeralPostgres.start()) {
            Repository repo = Repository.filesystem(tmp.resolve("repo"));
            long otherId = Archiving.systemId(other);

            assertThatThrownBy(() -> BackupPipeline.builder()
                    .source(DataDirectorySource.builder(src.pg.endpoint(), data(other)).build())
                    .encrypt(Encryption.with(LocalKeysetKek.create(tmp.resolve("kek.json")))).repository(repo).build().run())
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("dataDirectory")
                    .hasMessageContaining(Long.toUnsignedString(otherId))
                    .hasMessageContaining(Long.toUnsignedString(src.archive.systemId()));
            assertThat(repo.catalog().list()).isEmpty();
        }
    }

    @Test
    void capture_ofACopyOfTheDataDirectory_isRefusedNamingTheDirectoryTheServerUses() throws Exception {
        // same system identifier, another place: a stale copy or a standby's directory would back up the wrong files
        Path copy = Files.createDirectories(tmp.resolve("copy/global"));
        Files.copy(data(src.pg).resolve("global/pg_control"), copy.resolve("pg_control"));
        List<String> opened = new ArrayList<>();

        assertThatThrownBy(() -> DataDirectorySource.builder(src.pg.endpoint(), tmp.resolve("copy")).build().capture(name -> {
            opened.add(name);
            return OutputStream.nullOutputStream();
        })).hasMessageContaining("dataDirectory: got " + tmp.resolve("copy"))
                .hasMessageContaining("runs from ").hasMessageContaining(src.pg.directory().getFileName() + "/data");
        assertThat(opened).isEmpty();
    }

    @Test
    void capture_byARoleWithoutReplicationOrBackupFunctions_isRefusedNamingWhatItLacks() throws Exception {
        try (Connection c = src.pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("DROP ROLE IF EXISTS plain_reader");
            st.execute("CREATE ROLE plain_reader LOGIN PASSWORD 'reader-pass'");
        }
        dev.backstop.postgres.PgEndpoint weak = dev.backstop.postgres.PgEndpoint.of(src.pg.endpoint().host(), src.pg.endpoint().port(),
                "plain_reader", "reader-pass");

        assertThatThrownBy(() -> DataDirectorySource.builder(weak, data(src.pg)).build().capture(name -> OutputStream.nullOutputStream()))
                .isInstanceOf(dev.backstop.core.CaptureFailedException.class)
                .hasMessageContaining("role plain_reader")
                .hasMessageContaining("REPLICATION")
                .hasMessageContaining("EXECUTE on pg_catalog.pg_backup_start(text, boolean)")
                .hasMessageContaining("EXECUTE on pg_catalog.pg_backup_stop(boolean)");
    }

    @Test
    void capture_ofAClusterWithATablespace_isRefusedNamingIt() throws Exception {
        try (EphemeralPostgres other = EphemeralPostgres.start()) {
            Path loc = Files.createDirectories(other.directory().resolve("ts"));
            if ("root".equals(System.getProperty("user.name"))) {
                Files.setOwner(loc, loc.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres"));
            }
            try (Connection c = other.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLESPACE side_space LOCATION '" + loc + "'");
            }
            List<String> opened = new ArrayList<>();

            assertThatThrownBy(() -> DataDirectorySource.builder(other.endpoint(), data(other)).build().capture(name -> {
                opened.add(name);
                return OutputStream.nullOutputStream();
            })).hasMessageContaining("side_space").hasMessageContaining("DataDirectorySource supports only the data directory");
            assertThat(opened).as("refused before any stream was opened").isEmpty();
        }
    }

    @Test
    void capture_whenTheServerIsKilledMidBackup_failsAtCapture_andPublishesNothing() throws Exception {
        try (EphemeralPostgres pg = EphemeralPostgres.start()) {
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 60000) g");
            }
            CaptureSource inner = DataDirectorySource.builder(pg.endpoint(), data(pg)).build();
            CaptureSource killing = new CaptureSource() {
                @Override
                public BackupType type() {
                    return inner.type();
                }

                @Override
                public CaptureResult capture(Streams streams) throws IOException {
                    return inner.capture(name -> new AfterBytes(streams.open(name), 2 << 20, pg::kill));
                }
            };
            Repository repo = Repository.filesystem(tmp.resolve("repo"));

            assertThatThrownBy(() -> BackupPipeline.builder().source(killing)
                    .encrypt(Encryption.with(LocalKeysetKek.create(tmp.resolve("kek.json")))).repository(repo).build().run())
                    .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.stage()).isEqualTo(Stage.CAPTURE));
            assertThat(repo.catalog().list()).isEmpty();
        }
    }

    @Test
    void capture_whenATableIsDroppedAfterItsDirectoryWasListed_skipsItsFiles_andTheRestoreHasTheOtherTables() throws Exception {
        try (EphemeralPostgres pg = EphemeralPostgres.start()) {
            String big;
            String dropped;
            try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
                // ~60 MB read while the small table, listed with it, is dropped
                st.execute("CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS pad FROM generate_series(1, 200000) g");
                st.execute("CREATE TABLE small AS SELECT g AS id FROM generate_series(1, 1000) g");
                try (ResultSet rs = st.executeQuery("SELECT pg_relation_filepath('big'), pg_relation_filepath('small')")) {
                    rs.next();
                    big = rs.getString(1);
                    dropped = rs.getString(2);
                }
            }
            assertThat(dropped).as("read after big, in name order").isGreaterThan(big);
            CaptureSource inner = DataDirectorySource.builder(pg.endpoint(), data(pg)).build();
            CaptureSource dropping = new CaptureSource() {
                @Override
                public BackupType type() {
                    return inner.type();
                }

                @Override
                public CaptureResult capture(Streams streams) throws IOException {
                    return inner.capture(name -> new AfterBytes(streams.open(name), 40 << 20, () -> {
                        // the checkpoint unlinks the file PostgreSQL keeps (empty) until then
                        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
                            st.execute("DROP TABLE small");
                            st.execute("CHECKPOINT");
                        } catch (java.sql.SQLException e) {
                            throw new IOException(e);
                        }
                    }));
                }
            };
            Repository repo = Repository.filesystem(tmp.resolve("repo"));
            LocalKeysetKek kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
            Manifest m = BackupPipeline.builder().source(dropping).compress(ZstdTransform.level(1))
                    .encrypt(Encryption.with(kek)).repository(repo).build().run();
            assertThat(Files.exists(data(pg).resolve(dropped))).as("the dropped table's file is gone").isFalse();

            Restore r = Restore.builder().repository(repo).keys(kek).build();
            List<String> names = new ArrayList<>();
            long bigStart = -1;
            long bigEnd = -1;
            try (InputStream in = r.open(m, BaseBackupSource.STREAM); TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
                TarArchiveEntry e;
                while ((e = tar.getNextEntry()) != null) {
                    names.add(e.getName());
                    if (e.getName().equals(big)) {
                        bigStart = tar.getBytesRead();
                        bigEnd = bigStart + e.getSize();
                    }
                }
            }
            // the drop happened while big was being read: small's directory had been listed, its file not yet opened
            assertThat(40L << 20).isBetween(bigStart, bigEnd);
            assertThat(names).contains(big).doesNotContain(dropped);
            try (EphemeralPostgres restored = PointInTimeRecovery.builder(r, m).credentials("postgres", pg.endpoint().password())
                    .build().recover();
                 Connection c = restored.connect("postgres"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT (SELECT count(*) FROM big), to_regclass('small') IS NULL")) {
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(200000);
                assertThat(rs.getBoolean(2)).as("the drop was replayed").isTrue();
            }
        }
    }

    /** Runs {@code action} once, when {@code limit} bytes of the backup went through. */
    private static final class AfterBytes extends FilterOutputStream {
        private final long limit;
        private final IoAction action;
        private long written;

        AfterBytes(OutputStream out, long limit, IoAction action) {
            super(out);
            this.limit = limit;
            this.action = action;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            if (written < limit && written + len >= limit) {
                action.run();
            }
            written += len;
        }
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }
}
