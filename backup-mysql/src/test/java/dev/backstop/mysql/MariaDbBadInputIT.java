package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.CaptureException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.BackupType;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MariaDbBadInputIT {
    static EphemeralMariaDb db;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        db = EphemeralMariaDb.start();
        Shop.create(db, "shop", 300);
    }

    @AfterAll
    static void stop() throws Exception {
        db.close();
    }

    private BackupPipeline pipeline(CaptureSource source, Repository repo, KeyEncryptionKey kek) {
        return BackupPipeline.builder().source(source).compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek))
                .repository(repo).build();
    }

    private static void assertNothingPublished(Repository repo) throws IOException {
        assertThat(repo.catalog().list()).isEmpty();
        assertThat(repo.sink().list("backups/")).isEmpty();
    }

    @Test
    void wrongPassword_failsNamingTheSetting_notRetryable_andPublishesNothing() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MariaDbEndpoint wrong = MariaDbEndpoint.of("127.0.0.1", db.endpoint().port(), EphemeralMariaDb.USER, "not-the-password");
        BackupPipeline p = pipeline(MariaDbDumpSource.builder(wrong, "shop").build(), repo,
                LocalKeysetKek.create(tmp.resolve("kek.json")));

        assertThatThrownBy(p::run).isInstanceOfSatisfying(CaptureException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("Access denied").hasMessageContaining("check the endpoint's user and password")
                .hasMessageNotContaining("not-the-password");
        assertNothingPublished(repo);
    }

    @Test
    void unknownDatabase_failsNamingIt_notRetryable() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        BackupPipeline p = pipeline(MariaDbDumpSource.builder(db.endpoint(), "no_such_db").build(), repo,
                LocalKeysetKek.create(tmp.resolve("kek.json")));

        assertThatThrownBy(p::run).isInstanceOfSatisfying(CaptureException.class, e -> assertThat(e.retryable()).isFalse())
                .hasMessageContaining("database 'no_such_db' does not exist");
        assertNothingPublished(repo);
    }

    @Test
    void missingDumpProgram_failsNamingTheSetting() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MariaDbTools tools = MariaDbTools.locate().with("mariadb-dump", tmp.resolve("bin/mariadb-dump"));
        BackupPipeline p = pipeline(MariaDbDumpSource.builder(db.endpoint(), "shop").tools(tools).build(), repo,
                LocalKeysetKek.create(tmp.resolve("kek.json")));

        assertThatThrownBy(p::run).isInstanceOf(CaptureException.class)
                .hasMessageContaining("mariadb-dump not found at the configured path " + tmp.resolve("bin/mariadb-dump"))
                .hasMessageContaining("MariaDbTools.with(\"mariadb-dump\"");
        assertNothingPublished(repo);
    }

    @Test
    void myIsamTable_isRefusedNamingIt_unlessAllowedExplicitly() throws Exception {
        db.createDatabase("legacy");
        try (Connection c = db.connect("legacy"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE modern (id INT PRIMARY KEY) ENGINE=InnoDB");
            st.execute("CREATE TABLE old_log (id INT) ENGINE=MyISAM");
            st.execute("CREATE TABLE scratch (id INT) ENGINE=Aria");
            st.execute("INSERT INTO old_log VALUES (1), (2)");
        }
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));

        assertThatThrownBy(() -> pipeline(MariaDbDumpSource.builder(db.endpoint(), "legacy").build(), repo, kek).run())
                .isInstanceOf(CaptureException.class)
                .hasMessageContaining("old_log (MyISAM), scratch (Aria)")
                .hasMessageContaining("allowNonTransactional()");
        assertNothingPublished(repo);

        Manifest m = pipeline(MariaDbDumpSource.builder(db.endpoint(), "legacy").allowNonTransactional().build(), repo, kek).run();
        assertThat(m.attributes()).containsEntry("mariadb.non_transactional_tables", "old_log (MyISAM),scratch (Aria)");
        assertThat(m.fingerprints().get().tables().get("old_log").rows()).isEqualTo(2);
    }

    @Test
    void corruptedStoredObject_isDetectedBeforeTheTargetExists_andTheDrillReportsIt() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = pipeline(MariaDbDumpSource.builder(db.endpoint(), "shop").build(), repo, kek).run();
        StoredObject dump = m.objects().get(0);
        flipByte(tmp.resolve("repo").resolve(dump.key()), dump.storedSize() * 3 / 4);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        assertThatThrownBy(() -> MariaDbRestore.builder(restore, db.endpoint(), "never_created").build().run(m))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining(dump.key());
        try (Connection c = db.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM information_schema.SCHEMATA "
                     + "WHERE SCHEMA_NAME = 'never_created' OR SCHEMA_NAME LIKE 'never\\_created\\_\\_bs\\_%'")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
        ValidationResult drill = MariaDbRestoreDrill.builder().build().validate(m, restore);
        assertThat(drill.passed()).isFalse();
        assertThat(drill.findings()).singleElement().asString().contains(dump.key());
    }

    @Test
    void aFloatTheDumpPrintsWithTooFewDigits_isCaughtByTheDrillNamingTheTable() throws Exception {
        db.createDatabase("floats");
        try (Connection c = db.connect("floats"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE reading (id INT PRIMARY KEY, v FLOAT) ENGINE=InnoDB");
            // 1.0000001 is stored as the float 1.00000011920928955; mariadb-dump writes it as 1
            st.execute("INSERT INTO reading VALUES (1, 1.0000001), (2, 0.5)");
            st.execute("CREATE TABLE fine (id INT PRIMARY KEY, v DOUBLE) ENGINE=InnoDB");
            st.execute("INSERT INTO fine VALUES (1, 0.30000000000000004)");
        }
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = pipeline(MariaDbDumpSource.builder(db.endpoint(), "floats").build(), repo, kek).run();

        ValidationResult r = MariaDbRestoreDrill.builder().build().validate(m, Restore.builder().repository(repo).keys(kek).build());

        assertThat(r.passed()).isFalse();
        assertThat(m.attributes()).containsEntry(MariaDbDumpSource.LOSSY_FLOAT_ATTRIBUTE, "reading.v");
        assertThat(r.findings()).singleElement().asString().startsWith("table reading: FLOAT column v holds values");
    }

    @Test
    void serverKilledMidDump_failsRetryablyWithTheToolsStderr_andPublishesNothing() throws Exception {
        EphemeralMariaDb doomed = EphemeralMariaDb.start();
        try {
            doomed.createDatabase("big");
            try (Connection c = doomed.connect("big"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB");
                st.execute("INSERT INTO t SELECT seq, REPEAT(SHA2(seq, 256), 3) FROM seq_1_to_200000");
            }
            Repository repo = Repository.filesystem(tmp.resolve("repo"));
            CaptureSource dump = MariaDbDumpSource.builder(doomed.endpoint(), "big").build();
            AtomicBoolean killed = new AtomicBoolean();
            // kills the server once a megabyte of the dump has passed: mid-dump by construction
            CaptureSource killing = new CaptureSource() {
                @Override
                public BackupType type() {
                    return dump.type();
                }

                @Override
                public CaptureResult capture(Streams streams) throws IOException {
                    return dump.capture(name -> new FilterOutputStream(streams.open(name)) {
                        final AtomicLong written = new AtomicLong();

                        @Override
                        public void write(byte[] b, int off, int len) throws IOException {
                            out.write(b, off, len);
                            if (written.addAndGet(len) > (1 << 20) && killed.compareAndSet(false, true)) {
                                doomed.kill();
                            }
                        }
                    });
                }
            };

            assertThatThrownBy(() -> pipeline(killing, repo, LocalKeysetKek.create(tmp.resolve("kek.json"))).run())
                    .isInstanceOfSatisfying(CaptureException.class, e -> {
                        assertThat(e.retryable()).isTrue();
                        assertThat(e.exitCode()).isPresent();
                        assertThat(e.stderrTail()).containsIgnoringCase("lost connection");
                    })
                    .hasMessageContaining("mariadb-dump of database 'big'").hasMessageContaining("failed after");
            assertThat(killed).isTrue();
            assertNothingPublished(repo);
        } finally {
            doomed.close();
        }
    }

    @Test
    void aTableAlteredDuringTheDump_failsTheCaptureNamingTheChange_andPublishesNothing() throws Exception {
        db.createDatabase("altered");
        try (Connection c = db.connect("altered"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE a_big (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB");
            st.execute("INSERT INTO a_big SELECT seq, REPEAT(SHA2(seq, 256), 3) FROM seq_1_to_100000");
            st.execute("CREATE TABLE z_later (id INT PRIMARY KEY) ENGINE=InnoDB");
            st.execute("INSERT INTO z_later SELECT seq FROM seq_1_to_10");
        }
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        CaptureSource dump = MariaDbDumpSource.builder(db.endpoint(), "altered").build();
        AtomicBoolean altered = new AtomicBoolean();
        // rebuilds the table the dump reaches last while it is still dumping the first
        CaptureSource altering = new CaptureSource() {
            @Override
            public BackupType type() {
                return dump.type();
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                return dump.capture(name -> new FilterOutputStream(streams.open(name)) {
                    long written;

                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                        written += len;
                        if (written > (1 << 20) && altered.compareAndSet(false, true)) {
                            try (Connection c = db.connect("altered"); Statement st = c.createStatement()) {
                                st.execute("ALTER TABLE z_later ADD COLUMN note VARCHAR(10), FORCE");
                            } catch (java.sql.SQLException e) {
                                throw new IOException(e);
                            }
                        }
                    }
                });
            }
        };

        assertThatThrownBy(() -> pipeline(altering, repo, LocalKeysetKek.create(tmp.resolve("kek.json"))).run())
                .isInstanceOfSatisfying(CaptureException.class, e -> assertThat(e.retryable()).isTrue())
                .hasMessageContaining("Table definition has changed");
        assertThat(altered).isTrue();
        assertNothingPublished(repo);
    }

    /** Runs {@code backup} while another session commits inserts into {@code busy.events} without pause. */
    private static <T> T whileWriting(String database, java.util.concurrent.Callable<T> backup, AtomicLong inserted)
            throws Exception {
        db.createDatabase(database);
        try (Connection c = db.connect(database); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE events (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(40)) ENGINE=InnoDB");
            st.execute("INSERT INTO events (v) SELECT SHA1(seq) FROM seq_1_to_5000");
        }
        AtomicBoolean stop = new AtomicBoolean();
        Thread writer = new Thread(() -> {
            try (Connection c = db.connect(database); Statement st = c.createStatement()) {
                while (!stop.get()) {
                    st.execute("INSERT INTO events (v) VALUES (UUID())");
                    inserted.incrementAndGet();
                }
            } catch (Exception e) {
                if (!stop.get()) {
                    throw new IllegalStateException(e);
                }
            }
        }, "writer");
        writer.start();
        try {
            while (inserted.get() < 50) {
                Thread.onSpinWait();
            }
            return backup.call();
        } finally {
            stop.set(true);
            writer.join();
        }
    }

    @Test
    void writesDuringTheBackup_yieldFingerprintsOfTheDumpsOwnPoint_whichTheDrillReproduces() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        AtomicLong inserted = new AtomicLong();
        Manifest m = whileWriting("busy", () -> pipeline(MariaDbDumpSource.builder(db.endpoint(), "busy").build(), repo, kek)
                .run(), inserted);

        assertThat(m.fingerprints().get().tables().get("events").rows()).isBetween(5050L, 5000L + inserted.get());
        ValidationResult r = MariaDbRestoreDrill.builder().checkTables(false).build()
                .validate(m, Restore.builder().repository(repo).keys(kek).build());
        assertThat(r.findings()).isEmpty();
    }

    private static void flipByte(Path file, long position) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, position);
            b.flip();
            b.put(0, (byte) (b.get(0) ^ 0x5a));
            ch.write(b, position);
        }
    }
}
