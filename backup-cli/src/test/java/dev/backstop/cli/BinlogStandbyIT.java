package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two {@code backstop run} daemons of the built launcher on one repository, both with {@code
 * backup.binlog}: one streams, the other stands by quietly and takes over after the first is
 * stopped by SIGTERM, leaving no gap in the archive.
 */
class BinlogStandbyIT {
    static final Duration PATIENCE = Duration.ofSeconds(120);
    static EphemeralMariaDb db;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        db = EphemeralMariaDb.start();
        sql("CREATE DATABASE events", "CREATE TABLE events.e (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(64) NOT NULL)");
    }

    @AfterAll
    static void stop() throws Exception {
        db.close();
    }

    @Test
    void twoDaemons_streamFromOneAtATime_andTheStandbyTakesOverWithoutAGapWhenTheHolderStops() throws Exception {
        Path cfgA = config("a");
        Path cfgB = config("b");
        Process keys = process(tmp.resolve("keys.err"), "keys", "create", "--config", cfgA.toString());
        assertThat(keys.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(keys.exitValue()).as(MariaDbCliIT.read(tmp.resolve("keys.err"))).isZero();

        Path errA = tmp.resolve("a.err");
        Path errB = tmp.resolve("b.err");
        Process a = process(errA, "run", "--config", cfgA.toString());
        Process b = null;
        try {
            awaitTrue("daemon a streaming", () -> MariaDbCliIT.read(errA).contains("holds the lease") && dumpThreads() == 1, errA);
            b = process(errB, "run", "--config", cfgB.toString());
            Process standby = b;
            awaitTrue("daemon b standing by", () -> MariaDbCliIT.read(errB).contains("standing by"), errB);
            sql("INSERT INTO events.e (note) SELECT 'while a streams' FROM events.seq_1_to_100", "FLUSH BINARY LOGS");
            // a's receiver sees the flush; b's never connects
            String first = serverFiles().get(serverFiles().size() - 2);
            awaitTrue(first + " archived by a", () -> archive().contains(first), errA);
            assertThat(dumpThreads()).as("receivers connected to the server").isEqualTo(1);
            assertThat(standby.isAlive()).isTrue();

            sql("INSERT INTO events.e (note) SELECT 'just before a stops' FROM events.seq_1_to_100");
            a.destroy(); // SIGTERM
            assertThat(a.waitFor(60, TimeUnit.SECONDS)).as("a stopped").isTrue();
            sql("INSERT INTO events.e (note) SELECT 'while nobody streams' FROM events.seq_1_to_100");
            awaitTrue("daemon b taking over", () -> MariaDbCliIT.read(errB).contains("holds the lease") && dumpThreads() == 1, errB);
            sql("INSERT INTO events.e (note) SELECT 'while b streams' FROM events.seq_1_to_100", "FLUSH BINARY LOGS");
            String last = serverFiles().get(serverFiles().size() - 2);
            awaitTrue(last + " archived by b", () -> archive().contains(last), errB);
            assertThat(dumpThreads()).isEqualTo(1);

            // a foreground binlog stream takes the same lease: it stands by while b streams
            Path errC = tmp.resolve("c.err");
            Process c = process(errC, "binlog", "stream", "--config", config("c").toString());
            try {
                awaitTrue("binlog stream standing by", () -> MariaDbCliIT.read(errC).contains("standing by"), errC);
                assertThat(dumpThreads()).isEqualTo(1);
                assertThat(MariaDbCliIT.read(errC)).doesNotContain("binlog stream: receiving");
                c.destroy();
                assertThat(c.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(c.exitValue()).as(MariaDbCliIT.read(errC)).isEqualTo(Backstop.STOPPED);
            } finally {
                c.destroyForcibly();
            }
        } finally {
            a.destroyForcibly();
            if (b != null) {
                b.destroy();
                b.waitFor(60, TimeUnit.SECONDS);
                b.destroyForcibly();
            }
        }

        // every completed file archived, byte for byte, without a gap
        List<String> files = serverFiles();
        BinlogArchive archive = archive();
        for (String f : files.subList(0, files.size() - 1)) {
            Path fetched = tmp.resolve("fetched-" + f);
            assertThat(archive.get(f, fetched)).as("%s archived", f).isTrue();
            assertThat(Files.readAllBytes(fetched)).as(f).isEqualTo(Files.readAllBytes(db.directory().resolve("data").resolve(f)));
        }
        assertThat(archive.gaps()).isEmpty();
        assertThat(archive.continuousFrom(BinlogArchive.file(files.get(0)).epoch())).contains(files.get(0));
        String logs = MariaDbCliIT.read(tmp.resolve("a.err")) + MariaDbCliIT.read(tmp.resolve("b.err"))
                + MariaDbCliIT.read(tmp.resolve("c.err"));
        assertThat(logs).doesNotContain("ERROR", "lost the lease", db.endpoint().password());
        assertThat(a.exitValue()).isEqualTo(Backstop.STOPPED);
    }

    BinlogArchive archive() {
        return BinlogArchive.builder(Repository.filesystem(tmp.resolve("repo")), "server-" + db.serverId(), db.serverId())
                .keys(LocalKeysetKek.load(tmp.resolve("kek.json"))).build();
    }

    /** Each daemon spools on its own host; they share the repository and the key. */
    Path config(String name) throws Exception {
        Path file = tmp.resolve(name + ".json");
        Files.writeString(file, "{\"backup\": {\n"
                + "  \"database\": {\"url\": \"${DB_URL}\", \"password\": \"${DB_PASSWORD}\"},\n"
                + "  \"storage\": {\"provider\": \"filesystem\", \"path\": \"" + tmp.resolve("repo") + "\"},\n"
                + "  \"encryption\": {\"keyset\": \"" + tmp.resolve("kek.json") + "\"},\n"
                + "  \"binlog\": {\"serverId\": " + db.serverId() + ", \"spool\": \"" + tmp.resolve("spool-" + name) + "\"}\n}}\n");
        return file;
    }

    Process process(Path errFile, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(MariaDbCliIT.LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errFile.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        Map<String, String> env = new HashMap<>();
        env.put("DB_URL", "mariadb://" + db.endpoint().user() + "@" + db.endpoint().host() + ":" + db.endpoint().port() + "/events");
        env.put("DB_PASSWORD", db.endpoint().password());
        pb.environment().putAll(env);
        return pb.start();
    }

    /** The replication connections the server serves: one per connected binlog receiver. */
    static long dumpThreads() {
        try (Connection c = db.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")) {
            rs.next();
            return rs.getLong(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> serverFiles() throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = db.connect(null); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW BINARY LOGS")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    static void sql(String... statements) throws Exception {
        try (Connection c = db.connect(null); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    static void awaitTrue(String what, BooleanSupplier done, Path errFile) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("%s by now; stderr:%n%s", what, MariaDbCliIT.read(errFile)).isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }
}
