package dev.backstop.mysql.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbEndpoint;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MariaDbPhysicalBackupIT {
    static EphemeralMariaDb source;
    static Path repoRoot;
    static KeyEncryptionKey kek;
    static Manifest quiet;
    /** The source's binlog file, position and GTID position right after the quiet backup. */
    static String[] afterQuiet;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        source = EphemeralMariaDb.start();
        source.createDatabase("shop");
        try (Connection c = source.connect("shop"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10,2), "
                    + "KEY item_name (name)) ENGINE=InnoDB");
            st.execute("INSERT INTO item SELECT seq, CONCAT('item ', seq), seq / 4 FROM seq_1_to_20000");
            st.execute("CREATE TABLE w (id BIGINT PRIMARY KEY AUTO_INCREMENT, payload VARCHAR(64) NOT NULL) ENGINE=InnoDB");
        }
        repoRoot = shared.resolve("repo");
        kek = LocalKeysetKek.create(shared.resolve("kek.json"));
        quiet = backup(MariaDbBackupSource.builder(source.endpoint()).fingerprints("shop").build(), repoRoot);
        try (Connection c = source.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW MASTER STATUS")) {
            rs.next();
            afterQuiet = new String[] {rs.getString(1), rs.getString(2), gtidPos(c)};
        }
    }

    @AfterAll
    static void stop() throws Exception {
        source.close();
    }

    static Manifest backup(CaptureSource s, Path root) {
        return BackupPipeline.builder()
                .source(s)
                .compress(ZstdTransform.level(3))
                .encrypt(Encryption.with(kek))
                .repository(Repository.filesystem(root))
                .build().run();
    }

    static Restore restore(Path root) {
        return Restore.builder().repository(Repository.filesystem(root)).keys(kek).build();
    }

    @Test
    void backup_ofAQuietSource_recordsTheBinlogPointAndFingerprints_andTheDrillProvesThem() throws Exception {
        assertThat(quiet.type()).isEqualTo(BackupType.PHYSICAL);
        assertThat(quiet.source().engine()).isEqualTo("mariadb");
        assertThat(quiet.source().version()).isEqualTo(source.version());
        assertThat(quiet.objects()).extracting(o -> o.name()).containsExactly(MariaDbBackupSource.STREAM);
        assertThat(quiet.attributes()).containsEntry("mariadb.format", "xbstream")
                .containsEntry("mariadb.fingerprints", "consistent-snapshot at the backup's binlog position");
        assertThat(quiet.consistency().properties()).containsEntry("binlog_file", afterQuiet[0])
                .containsEntry("binlog_position", afterQuiet[1])
                .containsEntry("gtid", afterQuiet[2])
                .containsEntry("server_id", Integer.toString(source.serverId()))
                .containsKey("innodb_lsn");
        assertThat(quiet.fingerprints()).hasValueSatisfying(f -> {
            assertThat(f.tables()).containsOnlyKeys("shop.item", "shop.w");
            assertThat(f.tables().get("shop.item").rows()).isEqualTo(20000);
        });

        ValidationResult r = MariaDbPhysicalDrill.builder().workDir(tmp).build().validate(quiet, restore(repoRoot));

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("check_table", "passed").containsEntry("fingerprints", "compared")
                .containsEntry("tables", "2").containsEntry("rows", "20000")
                .containsKeys("rto_ms", "extract_ms", "prepare_ms", "start_ms");
        assertThat(Repository.filesystem(repoRoot).latestValidation(quiet.id())).hasValueSatisfying(v -> {
            assertThat(v.validator()).isEqualTo(MariaDbPhysicalDrill.NAME);
            assertThat(v.passed()).isTrue();
        });
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void backup_underConcurrentWrites_restoresExactlyTheTransactionsUpToItsGtid() throws Exception {
        long before;
        try (Connection c = source.connect(null)) {
            before = sequence(gtidPos(c));
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> writerFailure = new AtomicReference<>();
        CountDownLatch firstCommit = new CountDownLatch(1);
        Thread writer = new Thread(() -> {
            try (Connection c = source.connect("shop"); Statement st = c.createStatement()) {
                while (!stop.get()) {
                    st.execute("INSERT INTO w (payload) VALUES (SHA2(RAND(), 256))");
                    firstCommit.countDown();
                }
            } catch (SQLException e) {
                writerFailure.set(e);
                firstCommit.countDown();
            }
        }, "writer");
        writer.start();
        Manifest m;
        try {
            firstCommit.await();
            m = backup(MariaDbBackupSource.builder(source.endpoint()).fingerprints("shop").build(), tmp.resolve("repo"));
        } finally {
            stop.set(true);
            writer.join();
        }
        assertThat(writerFailure.get()).isNull();
        long committedAtPoint = sequence(m.consistency().properties().get("gtid")) - before;
        assertThat(committedAtPoint).isPositive();

        try (MariaDbPhysicalRestore.Started s = MariaDbPhysicalRestore.builder(restore(tmp.resolve("repo"))).workDir(tmp)
                .build().start(m);
             Connection restored = s.server().connect("shop"); Connection live = source.connect("shop")) {
            String[] copy = rowsOfW(restored, Long.MAX_VALUE);
            assertThat(copy[0]).isEqualTo(Long.toString(committedAtPoint));
            assertThat(copy[1]).isEqualTo(copy[0]);
            assertThat(copy).isEqualTo(rowsOfW(live, committedAtPoint));
            assertThat(s.report().total()).isPositive();
        }

        // a drill proves what it can of a busy source's backup, and says whether it compared fingerprints
        ValidationResult r = MariaDbPhysicalDrill.builder().workDir(tmp).record(false).build()
                .validate(m, restore(tmp.resolve("repo")));
        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("check_table", "passed")
                .containsEntry("fingerprints", m.fingerprints().isPresent() ? "compared" : "not-recorded");
        if (m.fingerprints().isEmpty()) {
            assertThat(m.attributes().get("mariadb.fingerprints")).startsWith("not taken: the source committed after");
        }
    }

    @Test
    void backup_ofAServerWithoutABinaryLog_isRefused_andPublishesNothing() throws Exception {
        try (EphemeralMariaDb noBinlog = EphemeralMariaDb.builder().setting("skip-log-bin", null).start()) {
            assertThatThrownBy(() -> backup(MariaDbBackupSource.builder(noBinlog.endpoint()).build(), tmp.resolve("repo")))
                    .isInstanceOf(CaptureException.class).hasMessageContaining("writes no binary log");
            assertThat(Repository.filesystem(tmp.resolve("repo")).catalog().list()).isEmpty();
        }
    }

    @Test
    void backup_withAWrongPassword_failsWithTheToolsExitCode_andPublishesNothing() throws Exception {
        MariaDbEndpoint wrong = MariaDbEndpoint.of("127.0.0.1", source.endpoint().port(), EphemeralMariaDb.USER, "not-the-password");

        assertThatThrownBy(() -> backup(MariaDbBackupSource.builder(wrong).build(), tmp.resolve("repo")))
                .isInstanceOfSatisfying(CaptureException.class, e -> {
                    assertThat(e.exitCode()).isPresent();
                    assertThat(e.exitCode().getAsInt()).isNotZero();
                    assertThat(e.stderrTail()).contains("Access denied");
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).doesNotContain("not-the-password").contains("mariadb-backup");
                });
        assertThat(Repository.filesystem(tmp.resolve("repo")).catalog().list()).isEmpty();
    }

    @Test
    void backup_whenTheServerDiesMidway_failsAndPublishesNothing() throws Exception {
        try (EphemeralMariaDb doomed = EphemeralMariaDb.start()) {
            doomed.createDatabase("big");
            try (Connection c = doomed.connect("big"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id INT PRIMARY KEY, filler CHAR(200) NOT NULL) ENGINE=InnoDB");
                st.execute("INSERT INTO t SELECT seq, REPEAT('x', 200) FROM seq_1_to_20000");
            }
            MariaDbBackupSource inner = MariaDbBackupSource.builder(doomed.endpoint()).build();
            // the server is killed once the first megabyte of the stream has reached the pipeline
            CaptureSource killing = new CaptureSource() {
                @Override
                public BackupType type() {
                    return inner.type();
                }

                @Override
                public CaptureResult capture(Streams streams) throws IOException {
                    return inner.capture(name -> new KillAfter(streams.open(name), 1 << 20, doomed));
                }
            };

            assertThatThrownBy(() -> backup(killing, tmp.resolve("repo")))
                    .isInstanceOfSatisfying(CaptureException.class, e -> assertThat(e.exitCode()).isPresent());
            assertThat(Repository.filesystem(tmp.resolve("repo")).catalog().list()).isEmpty();
        }
    }

    @Test
    void restore_ofACorruptedOrTruncatedObject_isRefused_andLeavesNothingBehind() throws Exception {
        for (String damage : new String[] {"flip", "truncate"}) {
            Path root = tmp.resolve("repo-" + damage);
            copyTree(repoRoot, root);
            Path stored = storedObject(root, quiet);
            try (RandomAccessFile f = new RandomAccessFile(stored.toFile(), "rw")) {
                if (damage.equals("flip")) {
                    f.seek(f.length() / 2);
                    int b = f.read();
                    f.seek(f.length() / 2);
                    f.write(b ^ 0x40);
                } else {
                    f.setLength(f.length() - 1000);
                }
            }
            Path work = Files.createDirectory(tmp.resolve("work-" + damage));
            MariaDbPhysicalRestore physical = MariaDbPhysicalRestore.builder(restore(root)).workDir(work).build();

            assertThatThrownBy(() -> physical.start(quiet)).as(damage).isInstanceOf(IntegrityException.class)
                    .hasMessageContaining(quiet.object(MariaDbBackupSource.STREAM).get().key());
            try (Stream<Path> left = Files.list(work)) {
                assertThat(left).as(damage).isEmpty();
            }
        }
    }

    @Test
    void toDataDirectory_refusesANonEmptyTarget_andFillsAnEmptyOneAServerStartsOn() throws Exception {
        MariaDbPhysicalRestore physical = MariaDbPhysicalRestore.builder(restore(repoRoot)).build();
        Path occupied = Files.createDirectory(tmp.resolve("occupied"));
        Files.writeString(occupied.resolve("precious.txt"), "keep me");

        assertThatThrownBy(() -> physical.toDataDirectory(quiet, occupied))
                .hasMessageContaining("target data directory " + occupied).hasMessageContaining("is not empty")
                .hasMessageContaining("precious.txt");
        try (Stream<Path> s = Files.list(occupied)) {
            assertThat(s).containsExactly(occupied.resolve("precious.txt"));
        }

        Path datadir = Files.createDirectory(tmp.resolve("datadir"));
        MariaDbPhysicalRestore.Report report = physical.toDataDirectory(quiet, datadir);

        assertThat(report.streamBytes()).isEqualTo(quiet.plaintextBytes());
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("occupied", "datadir");
        }
        try (EphemeralMariaDb started = EphemeralMariaDb.builder().baseDir(tmp).dataDirectory(datadir).start();
             Connection c = started.connect("shop"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*), SUM(price) FROM item")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(20000);
            assertThat(rs.getBigDecimal(2)).isEqualByComparingTo("50002500.00");
        }
    }

    @Test
    void toDataDirectory_withAllowNonEmptyTarget_addsTheBackupBesideExistingFiles() throws Exception {
        Path datadir = Files.createDirectory(tmp.resolve("datadir"));
        Files.writeString(datadir.resolve("notes.txt"), "kept");

        MariaDbPhysicalRestore.builder(restore(repoRoot)).allowNonEmptyTarget().build().toDataDirectory(quiet, datadir);

        assertThat(datadir.resolve("notes.txt")).hasContent("kept");
        assertThat(datadir.resolve("ibdata1")).isRegularFile();
        assertThat(datadir.resolve("shop").resolve("item.ibd")).isRegularFile();
    }

    private static String gtidPos(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT @@gtid_binlog_pos")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The sequence number of domain 0 in a GTID position such as {@code 0-17-42}. */
    private static long sequence(String gtidPos) {
        for (String g : gtidPos.split(",")) {
            String[] f = g.split("-");
            if (f[0].equals("0")) {
                return Long.parseLong(f[2]);
            }
        }
        throw new IllegalArgumentException("no domain 0 in " + gtidPos);
    }

    /** Count, highest id and a content checksum of table w's rows up to {@code maxId}. */
    private static String[] rowsOfW(Connection c, long maxId) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*), COALESCE(MAX(id), 0), "
                + "COALESCE(SUM(CRC32(CONCAT(id, ':', payload))), 0) FROM w WHERE id <= " + maxId)) {
            rs.next();
            return new String[] {rs.getString(1), rs.getString(2), rs.getString(3)};
        }
    }

    private static Path storedObject(Path root, Manifest m) throws IOException {
        String key = m.object(MariaDbBackupSource.STREAM).get().key();
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.toString().endsWith(key)).findFirst().orElseThrow();
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Files.copy(p, to.resolve(from.relativize(p).toString()));
            }
        }
    }

    /** Passes bytes on, and kills the server once {@code limit} bytes went by. */
    private static final class KillAfter extends FilterOutputStream {
        private final long limit;
        private final EphemeralMariaDb server;
        private long written;

        KillAfter(OutputStream out, long limit, EphemeralMariaDb server) {
            super(out);
            this.limit = limit;
            this.server = server;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            written += len;
            if (written >= limit && server.isAlive()) {
                server.kill();
            }
        }
    }
}
