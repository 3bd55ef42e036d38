package dev.backstop.mysql.binlog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.Repository;
import dev.backstop.mysql.EphemeralMariaDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The receiver against a server that rotates ({@code FLUSH BINARY LOGS}) and purges ({@code PURGE
 * BINARY LOGS}) its binlogs: each test has a server of its own, since purging is for good.
 */
class BinlogContinuityIT {
    EphemeralMariaDb source;

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws Exception {
        source = EphemeralMariaDb.start();
        sql("CREATE DATABASE shop", "CREATE TABLE shop.w (id BIGINT PRIMARY KEY AUTO_INCREMENT, payload VARCHAR(64) NOT NULL)");
    }

    @AfterEach
    void stop() throws Exception {
        source.close();
    }

    void sql(String... statements) throws Exception {
        try (Connection c = source.connect(null); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    void writeAndRotate() throws Exception {
        sql("INSERT INTO shop.w (payload) SELECT CONCAT('row ', seq) FROM shop.seq_1_to_200", "FLUSH BINARY LOGS");
    }

    List<String> serverFiles() throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = source.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW BINARY LOGS")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /**
     * Purges the binlogs before {@code file}. MariaDB keeps a file back, with a note, until
     * InnoDB's binlog checkpoint has moved past it: the purge is repeated until the server's list
     * starts at {@code file}.
     */
    void purgeTo(String file) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<String> notes = new ArrayList<>();
        while (!serverFiles().get(0).equals(file)) {
            try (Connection c = source.connect(null); Statement st = c.createStatement()) {
                st.execute("PURGE BINARY LOGS TO '" + file + "'");
                try (ResultSet rs = st.executeQuery("SHOW WARNINGS")) {
                    while (rs.next()) {
                        notes.add(rs.getString(3));
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("binlogs before " + file + " not purged: " + serverFiles() + "; notes: " + notes);
            }
            Thread.sleep(100);
        }
    }

    String active() throws Exception {
        List<String> files = serverFiles();
        return files.get(files.size() - 1);
    }

    BinlogArchive archive() {
        return BinlogArchive.builder(Repository.filesystem(tmp.resolve("repo")), "server-" + source.serverId(), source.serverId())
                .build();
    }

    BinlogReceiver.Builder receiver(BinlogArchive archive) {
        return BinlogReceiver.builder(source.endpoint(), archive, tmp.resolve("spool"))
                .restartDelays(Duration.ofMillis(50), Duration.ofMillis(200));
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

    @Test
    void flushAndPurge_whileTheReceiverKeepsUp_leaveNoGap_evenAcrossAReconnect() throws Exception {
        BinlogArchive archive = archive();
        String first = serverFiles().get(0);
        try (BinlogReceiver r = receiver(archive).build()) {
            r.start();
            writeAndRotate();
            writeAndRotate();
            String lastComplete = serverFiles().get(serverFiles().size() - 2);
            await(lastComplete + " archived", () -> archive.contains(lastComplete), r);
            purgeTo(active());
            assertThat(serverFiles()).containsExactly(active());
            // the tool reconnects after the purge: it needs the server's active file, which is still there
            long pid = r.toolPid();
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            await("the tool started again", () -> r.toolPid() > 0 && r.toolPid() != pid, r);
            writeAndRotate();
            String after = serverFiles().get(serverFiles().size() - 2);
            await(after + " archived", () -> archive.contains(after), r);

            assertThat(r.isRunning()).isTrue();
            assertThat(r.gap()).isEmpty();
            assertThat(r.continuousFrom()).hasValue(first);
            assertThat(archive.gaps()).isEmpty();
            assertThat(archive.continuousFrom(BinlogArchive.file(first).epoch())).hasValue(first);
        }
    }

    @Test
    void purge_ofTheFileTheArchiveNeedsNext_whileStopped_stopsTheReceiverWithAGapReport_andArchivesNothingMore() throws Exception {
        BinlogArchive archive = archive();
        String first = serverFiles().get(0);
        String archivedUpTo;
        try (BinlogReceiver r = receiver(archive).noDeltas().build()) {
            r.start();
            writeAndRotate();
            archivedUpTo = serverFiles().get(serverFiles().size() - 2);
            await(archivedUpTo + " archived", () -> archive.contains(archivedUpTo), r);
        }
        String needed = BinlogArchive.next(archivedUpTo);
        writeAndRotate();
        writeAndRotate();
        purgeTo(active());
        List<String> before = archive.files();

        try (BinlogReceiver r = receiver(archive).noDeltas().build()) {
            r.start();
            await("the receiver stopped", () -> !r.isRunning(), r);

            BinlogGap gap = r.gap().orElseThrow();
            assertThat(gap.needed()).isEqualTo(needed);
            assertThat(gap.serverOldest()).isEqualTo(active());
            assertThat(gap.continuousFrom()).isEqualTo(first);
            assertThat(gap.archivedUpTo()).isEqualTo(archivedUpTo);
            assertThat(r.lastFailure()).contains("binlog gap", needed + " is no longer on the server",
                    "continuous from " + first + " to " + archivedUpTo);
            assertThat(r.toolPid()).isEqualTo(-1);
            assertThat(r.continuousFrom()).hasValue(first);
        }
        assertThat(archive.files()).as("nothing archived past the gap").isEqualTo(before);
    }

    @Test
    void purge_ofTheFileTheArchiveNeedsNext_withAcceptGaps_recordsTheGapAndReceivesOnFromTheServersOldest() throws Exception {
        BinlogArchive archive = archive();
        String archivedUpTo;
        try (BinlogReceiver r = receiver(archive).noDeltas().build()) {
            r.start();
            writeAndRotate();
            archivedUpTo = serverFiles().get(serverFiles().size() - 2);
            await(archivedUpTo + " archived", () -> archive.contains(archivedUpTo), r);
        }
        writeAndRotate();
        writeAndRotate();
        String oldest = serverFiles().get(serverFiles().size() - 2);
        purgeTo(oldest);

        try (BinlogReceiver r = receiver(archive).noDeltas().acceptGaps().build()) {
            r.start();
            await(oldest + " archived", () -> archive.contains(oldest), r);

            assertThat(r.isRunning()).isTrue();
            assertThat(r.gap()).hasValueSatisfying(g -> assertThat(g.needed()).isEqualTo(BinlogArchive.next(archivedUpTo)));
            assertThat(r.continuousFrom()).hasValue(oldest);
            assertThat(archive.gaps()).singleElement().satisfies(g -> {
                assertThat(g.after().name()).isEqualTo(archivedUpTo);
                assertThat(g.before().name()).isEqualTo(oldest);
            });
        }
    }

    @Test
    void receiver_ofAServerWhoseIdIsNotTheArchives_isRefusedBeforeReceivingAnything() throws Exception {
        BinlogArchive other = BinlogArchive.builder(Repository.filesystem(tmp.resolve("repo")), "other", source.serverId() + 1L)
                .build();

        try (BinlogReceiver r = receiver(other).build()) {
            r.start();
            await("the receiver stopped", () -> !r.isRunning(), r);

            assertThat(r.lastFailure()).contains("server id " + source.serverId(), "server id " + (source.serverId() + 1),
                    "another server");
            assertThat(r.gap()).isEmpty();
        }
        assertThat(other.files()).isEmpty();
        assertThat(other.logs().restorable()).isEmpty();
        try (var spooled = Files.list(tmp.resolve("spool"))) {
            assertThat(spooled.filter(p -> p.getFileName().toString().matches(".*\\.[0-9]{6}"))).as("files received").isEmpty();
        }
    }
}
