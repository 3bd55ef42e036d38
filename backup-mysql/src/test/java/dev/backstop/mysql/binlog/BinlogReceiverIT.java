package dev.backstop.mysql.binlog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.log.LogStore;
import dev.backstop.mysql.EphemeralMariaDb;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BinlogReceiverIT {
    static EphemeralMariaDb source;
    static KeyEncryptionKey kek;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        source = EphemeralMariaDb.start();
        source.createDatabase("shop");
        sql("CREATE TABLE shop.w (id BIGINT PRIMARY KEY AUTO_INCREMENT, payload VARCHAR(64) NOT NULL) ENGINE=InnoDB");
        kek = LocalKeysetKek.create(shared.resolve("kek.json"));
    }

    @AfterAll
    static void stop() throws Exception {
        source.close();
    }

    static void sql(String... statements) throws Exception {
        try (Connection c = source.connect(null); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    static void writeRows(int n) throws Exception {
        sql("INSERT INTO shop.w (payload) SELECT CONCAT('row ', seq) FROM shop.seq_1_to_" + n);
    }

    /** The server's binlog files, oldest first; the last one is the file it is writing. */
    static List<String> serverFiles() throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = source.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW BINARY LOGS")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    static Path serverCopy(String name) {
        return source.directory().resolve("data").resolve(name);
    }

    BinlogArchive archive(Path root) {
        return BinlogArchive.builder(Repository.filesystem(root), "server-" + source.serverId(), source.serverId()).keys(kek).build();
    }

    static void await(String what, BooleanSupplier done, BinlogReceiver r) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; " + r.rpo() + ", last failure: " + r.lastFailure());
            }
            Thread.sleep(20);
        }
    }

    void assertArchivedAsOnServer(BinlogArchive archive, String name) throws Exception {
        Path fetched = tmp.resolve("fetched-" + name);
        assertThat(archive.get(name, fetched)).isTrue();
        assertThat(Files.readAllBytes(fetched)).as("archived %s against the server's", name).isEqualTo(Files.readAllBytes(serverCopy(name)));
    }

    @Test
    void receiver_afterFlushBinaryLogs_archivesTheCompletedFileByteIdenticalToTheServers() throws Exception {
        BinlogArchive archive = archive(tmp.resolve("repo"));
        try (BinlogReceiver r = BinlogReceiver.builder(source.endpoint(), archive, tmp.resolve("spool")).noDeltas().build()) {
            r.start();
            writeRows(500);
            String completed = serverFiles().get(serverFiles().size() - 1);
            sql("FLUSH BINARY LOGS");
            await(completed + " archived", () -> archive.contains(completed), r);
            await("rpo at " + completed, () -> completed.equals(r.rpo().archivedFile()), r);

            BinlogRpo rpo = r.rpo();
            assertThat(rpo.archivedPosition()).isEqualTo(Files.size(serverCopy(completed)));
            assertThat(rpo.restarts()).isZero();
            assertArchivedAsOnServer(archive, completed);
            assertThat(archive.files()).containsExactlyElementsOf(serverFiles().subList(0, serverFiles().size() - 1));
            assertThat(archive.gaps()).isEmpty();
            assertThat(archive.metadata(completed)).hasValueSatisfying(m -> assertThat(m.keyRecord()).isNotEmpty());
            assertThat(Files.exists(tmp.resolve("spool").resolve(completed))).as("local copy removed once archived").isFalse();
        }
    }

    @Test
    void receiver_whoseToolIsKilled_andThenItself_resumesWithoutAGap() throws Exception {
        Path root = tmp.resolve("repo");
        Path spool = tmp.resolve("spool");
        BinlogArchive archive = archive(root);
        String first = serverFiles().get(0);
        try (BinlogReceiver r = BinlogReceiver.builder(source.endpoint(), archive, spool).startFile(first)
                .restartDelays(Duration.ofMillis(50), Duration.ofMillis(200)).build()) {
            r.start();
            await("the tool running", () -> r.toolPid() > 0, r);
            long pid = r.toolPid();
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            await("the tool started again", () -> r.toolPid() > 0 && r.toolPid() != pid, r);
            writeRows(300);
            sql("FLUSH BINARY LOGS");
            String before = serverFiles().get(serverFiles().size() - 2);
            await(before + " archived", () -> archive.contains(before), r);
            assertThat(r.rpo().restarts()).isGreaterThanOrEqualTo(1);
            assertThat(r.lastFailure()).startsWith("mariadb-binlog exited with status");
        }
        // the receiver is gone (its tool killed) while the server goes on writing and rotating
        writeRows(200);
        sql("FLUSH BINARY LOGS");
        writeRows(200);
        sql("FLUSH BINARY LOGS");
        List<String> server = serverFiles();
        String lastComplete = server.get(server.size() - 2);
        try (BinlogReceiver r = BinlogReceiver.builder(source.endpoint(), archive(root), spool).startFile(first).build()) {
            r.start();
            await(lastComplete + " archived", () -> archive.contains(lastComplete), r);
        }

        assertThat(archive.gaps()).isEmpty();
        assertThat(archive.files()).containsExactlyElementsOf(server.subList(0, server.size() - 1));
        for (String name : archive.files()) {
            assertArchivedAsOnServer(archive, name);
            assertThat(archive.logs().deltas(BinlogArchive.file(name))).as("deltas of archived %s", name).isEmpty();
        }
    }

    @Test
    void receiver_withoutRotation_archivesTheActiveFileAsDeltasMatchingTheServersBytes() throws Exception {
        BinlogArchive archive = archive(tmp.resolve("repo"));
        try (BinlogReceiver r = BinlogReceiver.builder(source.endpoint(), archive, tmp.resolve("spool")).build()) {
            r.start();
            writeRows(400);
            writeRows(10);
            String active;
            long serverPosition;
            try (Connection c = source.connect(null); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SHOW MASTER STATUS")) {
                rs.next();
                active = rs.getString(1);
                serverPosition = rs.getLong(2);
            }
            await("deltas of " + active + " up to " + serverPosition,
                    () -> active.equals(r.rpo().archivedFile()) && r.rpo().archivedPosition() >= serverPosition, r);

            Path prefix = tmp.resolve("prefix");
            long end = archive.getPrefix(active, prefix);
            assertThat(end).isGreaterThanOrEqualTo(serverPosition);
            assertThat(archive.contains(active)).isFalse();
            byte[] server = Files.readAllBytes(serverCopy(active));
            // the server's open file has its format description event flagged in use; a receiver is sent it cleared
            server[4 + 17] &= ~1;
            assertThat(Files.readAllBytes(prefix)).isEqualTo(java.util.Arrays.copyOf(server, (int) end));
            BinlogRpo rpo = r.rpo();
            assertThat(rpo.lagBytes()).isEqualTo(rpo.localPosition() - rpo.archivedPosition());
        }
    }

    @Test
    void put_ofABinlogOfAnotherServer_isRefusedAndStoresNothing() throws Exception {
        String completed = serverFiles().get(0);
        BinlogArchive other = BinlogArchive.builder(Repository.filesystem(tmp.resolve("repo")), "other-server",
                source.serverId() + 1L).keys(kek).build();

        assertThatThrownBy(() -> other.put(serverCopy(completed), completed)).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("server id " + source.serverId()).hasMessageContaining("another server");
        assertThat(other.files()).isEmpty();
    }

    @Test
    void put_ofAFileThatIsNotABinlog_isRefused() throws Exception {
        Path notBinlog = tmp.resolve("binlog.000001");
        Files.writeString(notBinlog, "-- MariaDB dump 10.19\n");

        assertThatThrownBy(() -> archive(tmp.resolve("repo")).put(notBinlog, "binlog.000001")).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("binlog magic");
    }

    @Test
    void get_ofATamperedArchivedFile_isRefusedAndWritesNoTarget() throws Exception {
        BinlogArchive archive = archive(tmp.resolve("repo"));
        String completed = serverFiles().get(0);
        assertThat(archive.put(serverCopy(completed), completed)).isEqualTo(LogStore.PutResult.ARCHIVED);
        Path stored = tmp.resolve("repo").resolve(archive.logs().keyOf(BinlogArchive.file(completed)));
        try (RandomAccessFile f = new RandomAccessFile(stored.toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 0x01);
        }

        Path target = tmp.resolve("restored");
        assertThatThrownBy(() -> archive.get(completed, target)).isInstanceOf(IntegrityException.class);
        assertThat(target).doesNotExist();
    }
}
