package dev.backstop.mysql.recovery;

import static dev.backstop.mysql.recovery.Fixtures.count;
import static dev.backstop.mysql.recovery.Fixtures.masterStatus;
import static dev.backstop.mysql.recovery.Fixtures.sql;
import static dev.backstop.mysql.recovery.Fixtures.strings;
import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.Fingerprints;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbDumpSource;
import dev.backstop.mysql.MariaDbInstance;
import dev.backstop.mysql.binlog.BinlogArchive;
import dev.backstop.mysql.binlog.BinlogReceiver;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@link BinlogReceiver} following a source with its default 200 ms deltas while a writer
 * commits small transactions, and recoveries of a logical backup from what it archived. Each test
 * has a server of its own.
 */
class LiveReceiverRecoveryIT {
    @TempDir
    Path tmp;

    EphemeralMariaDb source;
    KeyEncryptionKey kek;
    Path root;
    BinlogArchive archive;
    Manifest backup;

    @BeforeEach
    void start() throws Exception {
        source = EphemeralMariaDb.start();
        source.createDatabase("shop");
        sql(source, "CREATE TABLE shop.marker (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20) NOT NULL) ENGINE=InnoDB",
                "CREATE TABLE shop.w (id BIGINT PRIMARY KEY AUTO_INCREMENT, payload VARCHAR(64) NOT NULL) ENGINE=InnoDB");
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        root = tmp.resolve("repo");
        archive = Fixtures.archive(root, uuid(), source.serverId(), kek);
        backup = Fixtures.backup(MariaDbDumpSource.builder(source.endpoint(), "shop").binlogStream(archive.stream()).build(), root, kek);
    }

    @AfterEach
    void stop() throws Exception {
        if (source != null) {
            source.close();
        }
    }

    String uuid() {
        return "server-" + source.serverId();
    }

    BinlogRecovery recovery() {
        return BinlogRecovery.builder(Fixtures.restore(root, kek), archive).workDir(tmp).build();
    }

    @Test
    void recovery_whileTheReceiverRuns_toTargetT_hasM1Only_andToLatest_hasM3FromItsDeltas() throws Exception {
        try (BinlogReceiver receiver = BinlogReceiver.builder(source.endpoint(), archive, tmp.resolve("spool")).build();
             Writer writer = Writer.start(source)) {
            receiver.start();
            writer.awaitRows(200);
            List<String> files = Fixtures.serverFiles(source);
            sql(source, "INSERT INTO shop.marker (name) VALUES ('m1')");
            RecoveryCheckpoint t = RecoveryCheckpoints.builder(source.endpoint(), Repository.filesystem(root).withKeys(kek), archive)
                    .databases("shop").build().record("t");
            sql(source, "INSERT INTO shop.marker (name) VALUES ('m2')");
            sql(source, "INSERT INTO shop.marker (name) VALUES ('m3')");
            String[] afterM3 = masterStatus(source);
            long m3End = Long.parseLong(afterM3[1]);
            assertThat(Fixtures.serverFiles(source)).as("no rotation from m1 to m3").isEqualTo(files);
            await("deltas of " + afterM3[0] + " past m3", () -> afterM3[0].equals(receiver.rpo().archivedFile())
                    && receiver.rpo().archivedPosition() >= m3End, receiver);
            assertThat(archive.contains(afterM3[0])).as("the active file is archived as deltas only").isFalse();

            try (BinlogRecovery.Recovered r = recovery().recover(backup, t.target())) {
                assertThat(strings(r.server(), "SELECT name FROM shop.marker ORDER BY id")).containsExactly("m1");
                assertThat(t.fingerprints().differencesFrom(fingerprints(r.server()))).isEmpty();
                assertThat(r.report().reached().gtid()).isEqualTo(t.gtid());
            }
            long rowsBefore = writer.rows();
            try (BinlogRecovery.Recovered r = recovery().recover(backup, RecoveryTarget.latest())) {
                assertThat(strings(r.server(), "SELECT name FROM shop.marker ORDER BY id")).containsExactly("m1", "m2", "m3");
                assertThat(r.report().reached().file()).isEqualTo(afterM3[0]);
                assertThat(r.report().reached().position()).isGreaterThanOrEqualTo(m3End);
                assertThat(count(r.server(), "shop.w")).isGreaterThan(t.databases().get("shop").tables().get("w").rows());
            }
            writer.awaitRows(rowsBefore + 1);
            assertThat(receiver.isRunning()).isTrue();
            assertThat(receiver.lastFailure()).isNull();
        }
    }

    @Test
    void receiverKilledWithSigkillMidStream_thenStartedAgain_leavesNoGap_archivesTheServersBytes_andRecoversToLatest()
            throws Exception {
        Path spool = tmp.resolve("spool");
        String first = Fixtures.serverFiles(source).get(0);
        long orphan;
        try (Writer writer = Writer.start(source)) {
            Process child = startReceiverJvm(spool);
            try {
                writer.awaitRows(300);
                String rotated = Fixtures.serverFiles(source).get(Fixtures.serverFiles(source).size() - 1);
                sql(source, "FLUSH BINARY LOGS");
                await(rotated + " archived by the first receiver", () -> archive.contains(rotated), null);
                String active = Fixtures.serverFiles(source).get(Fixtures.serverFiles(source).size() - 1);
                await("deltas of " + active, () -> archive.deltaEnd(active) > 0, null);
                writer.awaitRows(writer.rows() + 200);
                // killed right after a rotation: the spool may hold a complete file not archived yet
                sql(source, "FLUSH BINARY LOGS");
            } finally {
                child.destroyForcibly();
                assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }
            orphan = Long.parseLong(Files.readString(spool.resolve(".mariadb-binlog.pid")).split(" ")[0]);
            assertThat(ProcessHandle.of(orphan).map(ProcessHandle::isAlive)).as("its mariadb-binlog outlives the JVM").hasValue(true);
            writer.awaitRows(writer.rows() + 200);
            sql(source, "FLUSH BINARY LOGS");

            try (BinlogReceiver receiver = BinlogReceiver.builder(source.endpoint(), archive, spool).build()) {
                receiver.start();
                await("the orphaned tool ended", () -> ProcessHandle.of(orphan).map(h -> !h.isAlive()).orElse(true), receiver);
                writer.awaitRows(writer.rows() + 200);
                sql(source, "FLUSH BINARY LOGS");
                writer.awaitRows(writer.rows() + 200);
                writer.stop();
                sql(source, "INSERT INTO shop.marker (name) VALUES ('last')");
                String[] end = masterStatus(source);
                List<String> server = Fixtures.serverFiles(source);
                String lastComplete = server.get(server.size() - 2);
                await("everything archived", () -> archive.contains(lastComplete) && end[0].equals(receiver.rpo().archivedFile())
                        && receiver.rpo().archivedPosition() >= Long.parseLong(end[1]), receiver);

                assertThat(receiver.isRunning()).isTrue();
                assertThat(receiver.gap()).isEmpty();
                assertThat(receiver.continuousFrom()).hasValue(first);
                assertThat(archive.gaps()).isEmpty();
                assertThat(archive.files()).containsExactlyElementsOf(server.subList(0, server.size() - 1));
                for (String name : archive.files()) {
                    Path fetched = tmp.resolve("fetched-" + name);
                    assertThat(archive.get(name, fetched)).isTrue();
                    assertThat(Files.readAllBytes(fetched)).as("archived %s against the server's", name)
                            .isEqualTo(Files.readAllBytes(Fixtures.serverFile(source, name)));
                }
            }
        }
        Fingerprints expected;
        try (Connection c = source.connect(null); Statement st = c.createStatement()) {
            st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
            expected = RecoveryCheckpoint.fingerprints(c, List.of("shop"));
            st.execute("ROLLBACK");
        }
        try (BinlogRecovery.Recovered r = recovery().recover(backup, RecoveryTarget.latest())) {
            assertThat(expected.differencesFrom(fingerprints(r.server()))).isEmpty();
            assertThat(strings(r.server(), "SELECT name FROM shop.marker")).containsExactly("last");
        }
    }

    Process startReceiverJvm(Path spool) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"),
                ReceiverMain.class.getName(), Integer.toString(source.endpoint().port()), source.endpoint().user(), root.toString(),
                tmp.resolve("kek.json").toString(), spool.toString(), uuid(), Long.toString(source.serverId()))
                .redirectErrorStream(true);
        pb.environment().put("RECEIVER_PASSWORD", source.endpoint().password());
        Process child = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.equals("RECEIVING")) {
            // start-up output
        }
        assertThat(line).as("the receiver JVM started").isEqualTo("RECEIVING");
        // keep draining what it prints so it never blocks on a full pipe
        Thread drain = new Thread(() -> out.lines().forEach(l -> { }), "receiver-jvm-output");
        drain.setDaemon(true);
        drain.start();
        return child;
    }

    static Fingerprints fingerprints(MariaDbInstance server) throws Exception {
        try (Connection c = server.connect(null); Statement st = c.createStatement()) {
            st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
            Fingerprints f = RecoveryCheckpoint.fingerprints(c, List.of("shop"));
            st.execute("ROLLBACK");
            return f;
        }
    }

    static void await(String what, BooleanSupplier done, BinlogReceiver r) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + (r == null ? "" : "; " + r.rpo() + ", last failure: "
                        + r.lastFailure()));
            }
            Thread.sleep(20);
        }
    }

    /** Commits one-row transactions into shop.w until closed; close rethrows what failed it. */
    static final class Writer implements AutoCloseable {
        private final EphemeralMariaDb db;
        private final ExecutorService thread = Executors.newSingleThreadExecutor();
        private final AtomicBoolean stop = new AtomicBoolean();
        private Future<?> running;

        private Writer(EphemeralMariaDb db) {
            this.db = db;
        }

        static Writer start(EphemeralMariaDb db) {
            Writer w = new Writer(db);
            w.running = w.thread.submit(() -> {
                try (Connection c = db.connect("shop"); Statement st = c.createStatement()) {
                    for (long i = 0; !w.stop.get(); i++) {
                        st.execute("INSERT INTO w (payload) VALUES ('row " + i + "')");
                    }
                }
                return null;
            });
            return w;
        }

        long rows() throws Exception {
            return count(db, "shop.w");
        }

        /** Waits, by reading the table, until {@code n} rows are committed. */
        void awaitRows(long n) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (rows() < n) {
                if (running.isDone()) {
                    running.get();
                    throw new AssertionError("the writer stopped before " + n + " rows");
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the writer committed " + rows() + " rows in 120 s, expected " + n);
                }
            }
        }

        @Override
        public void close() throws ExecutionException, TimeoutException {
            stop();
        }

        /** Stops writing and waits for the last transaction; rethrows what failed the writer. Idempotent. */
        void stop() throws ExecutionException, TimeoutException {
            if (stop.getAndSet(true)) {
                return;
            }
            try {
                running.get(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while stopping the writer", e);
            } finally {
                thread.shutdownNow();
            }
        }
    }
}
