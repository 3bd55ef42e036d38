package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
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
 * MariaDB point-in-time recovery as an operator runs it: the built launcher as a child process
 * streams the binlog ({@code binlog stream}), takes a logical and a physical backup, and then
 * restores each to a GTID, a binlog position, a time and the end of the archive. Markers m1, then
 * the targets, then m2 and m3 are written after the backups: recovered to a target the database
 * holds m1 only; recovered to the latest it holds all three.
 */
class MariaDbPitrCliIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration PATIENCE = Duration.ofSeconds(120);

    @TempDir
    static Path tmp;

    static EphemeralMariaDb source;
    static EphemeralMariaDb target;
    static MariaDbEndpoint targetAsConfigured;
    static Process streamer;
    static Path logicalConfig;
    static Path physicalConfig;
    static String logicalId;
    static String physicalId;
    static String gtidT;
    static String positionT;
    static Instant timeT;
    static final List<Long> started = new ArrayList<>();

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    @BeforeAll
    static void streamBackUpAndWriteTheMarkers() throws Exception {
        source = EphemeralMariaDb.start();
        target = EphemeralMariaDb.start();
        sql(source.endpoint(), "CREATE DATABASE shop",
                "CREATE TABLE shop.marker (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(16) NOT NULL) ENGINE=InnoDB",
                "INSERT INTO shop.marker (name) VALUES ('m0')");
        // the configured account (the source's) on the second server, for --to-server
        sql(target.endpoint(), "ALTER USER '" + EphemeralMariaDb.USER + "'@'127.0.0.1' IDENTIFIED BY '" + source.endpoint().password() + "'");
        targetAsConfigured = MariaDbEndpoint.of(target.endpoint().host(), target.endpoint().port(), EphemeralMariaDb.USER,
                source.endpoint().password());
        logicalConfig = config("logical.json", "");
        physicalConfig = config("physical.json", ", \"mode\": \"physical\"");
        ok("keys", "create", "--config", logicalConfig.toString());

        Path errFile = tmp.resolve("stream.err");
        streamer = launcher(errFile, "binlog", "stream", "--config", logicalConfig.toString());
        awaitTrue("binlog stream receiving", () -> MariaDbCliIT.read(errFile).contains("binlog stream: receiving"));

        logicalId = JSON.readTree(ok("backup", "--config", logicalConfig.toString(), "--json").out()).get("id").asText();
        physicalId = JSON.readTree(ok("backup", "--config", physicalConfig.toString(), "--json").out()).get("id").asText();

        sql(source.endpoint(), "INSERT INTO shop.marker (name) VALUES ('m1')");
        gtidT = string(source.endpoint(), "SELECT @@gtid_binlog_pos");
        positionT = masterStatus();
        long m1Second = Long.parseLong(string(source.endpoint(), "SELECT UNIX_TIMESTAMP()"));
        // binlog times are whole seconds: T is the first second after m1's, and m2 is written in it or later
        awaitTrue("the server's clock past m1's second",
                () -> Long.parseLong(string(source.endpoint(), "SELECT UNIX_TIMESTAMP()")) > m1Second);
        timeT = Instant.ofEpochSecond(m1Second + 1);
        sql(source.endpoint(), "INSERT INTO shop.marker (name) VALUES ('m2')", "INSERT INTO shop.marker (name) VALUES ('m3')");
        String end = masterStatus();
        String endFile = end.substring(0, end.indexOf(':'));
        long endPos = Long.parseLong(end.substring(end.indexOf(':') + 1));
        BinlogArchive archive = BinlogArchive.builder(Repository.filesystem(tmp.resolve("repo")), "server-" + source.serverId(),
                source.serverId()).keys(LocalKeysetKek.load(tmp.resolve("kek.json"))).build();
        awaitTrue("m3 archived", () -> archive.contains(endFile) || archive.deltaEnd(endFile) >= endPos);
    }

    @AfterAll
    static void stop() throws Exception {
        if (streamer != null) {
            streamer.destroy();
            streamer.waitFor(60, TimeUnit.SECONDS);
            streamer.destroyForcibly();
        }
        for (long pid : started) {
            ProcessHandle.of(pid).ifPresent(p -> {
                p.destroy();
                p.onExit().join();
            });
        }
        if (target != null) {
            target.close();
        }
        if (source != null) {
            source.close();
        }
    }

    @Test
    void logicalBackup_recoveredToAGtidAPositionOrATime_holdsM1Only_andToTheLatest_holdsM3() throws Exception {
        String server = targetAsConfigured.host() + ":" + targetAsConfigured.port();
        for (String[] t : new String[][] {{"--target-gtid", gtidT}, {"--target-position", positionT},
                {"--target-time", timeT.toString()}}) {
            Result r = ok("restore", logicalId, "--to-database", "shop", "--to-server", server, t[0], t[1],
                    "--config", logicalConfig.toString(), "--json");
            assertThat(JSON.readTree(r.out()).get("id").asText()).isEqualTo(logicalId);
            assertThat(markers(targetAsConfigured)).as("recovered to %s %s", t[0], t[1]).containsExactly("m0", "m1");
            sql(targetAsConfigured, "DROP DATABASE shop");
        }

        // no ID: the newest logical backup before the target; --latest: the newest backup, recovered to the end
        Result byTarget = ok("restore", "--to-database", "shop", "--to-server", server, "--target-gtid", gtidT,
                "--config", logicalConfig.toString());
        assertThat(byTarget.out()).startsWith("restored " + logicalId + " into database shop on " + server)
                .contains("recovered to gtid " + gtidT);
        sql(targetAsConfigured, "DROP DATABASE shop");
        // the physical backup is newer; --latest into a database takes the newest logical one
        Result latest = ok("restore", "--latest", "--to-database", "shop", "--to-server", server, "--target-latest",
                "--config", logicalConfig.toString(), "--json");
        assertThat(JSON.readTree(latest.out()).get("id").asText()).isEqualTo(logicalId);
        assertThat(markers(targetAsConfigured)).containsExactly("m0", "m1", "m2", "m3");
        assertThat(JSON.readTree(latest.out()).get("transactions").asLong()).isGreaterThanOrEqualTo(3);
        sql(targetAsConfigured, "DROP DATABASE shop");
    }

    @Test
    void physicalBackup_restoredIntoADataDirectoryAndStarted_recoversToTheTarget_orToTheLatest() throws Exception {
        for (String[] t : new String[][] {{"--target-gtid", gtidT}, {"--target-time", timeT.toString()},
                {"--target-latest", null}}) {
            Path dir = tmp.resolve("datadir" + t[0]);
            List<String> args = new ArrayList<>(List.of("restore", physicalId, "--to-datadir", dir.toString(), "--start", t[0]));
            if (t[1] != null) {
                args.add(t[1]);
            }
            args.addAll(List.of("--config", physicalConfig.toString(), "--json"));
            JsonNode r = JSON.readTree(ok(args.toArray(String[]::new)).out());
            long pid = Long.parseLong(Files.readString(Path.of(r.get("pidFile").asText())).trim());
            started.add(pid);
            MariaDbEndpoint restored = MariaDbEndpoint.of("127.0.0.1", r.get("port").asInt(), EphemeralMariaDb.USER,
                    source.endpoint().password());

            assertThat(markers(restored)).as("recovered with %s", t[0])
                    .containsExactlyElementsOf(t[1] == null ? List.of("m0", "m1", "m2", "m3") : List.of("m0", "m1"));
            ProcessHandle.of(pid).ifPresent(p -> {
                p.destroy();
                p.onExit().join();
            });
        }
    }

    @Test
    void aTargetPastTheArchive_exitsWithItsOwnCode_andTouchesNoTarget() throws Exception {
        String past = gtidT.substring(0, gtidT.lastIndexOf('-')) + "-999999";
        Result intoDatabase = backstop("restore", logicalId, "--to-database", "shop", "--to-server",
                targetAsConfigured.host() + ":" + targetAsConfigured.port(), "--target-gtid", past, "--config", logicalConfig.toString());
        assertThat(intoDatabase.code()).as("%s", intoDatabase).isEqualTo(Backstop.NOT_REACHED).isEqualTo(6);
        assertThat(intoDatabase.err()).contains("the archive ends in", "before the target gtid " + past);
        assertThat(strings(targetAsConfigured, "SHOW DATABASES")).doesNotContain("shop");

        Path dir = tmp.resolve("never");
        Result intoDirectory = backstop("restore", physicalId, "--to-datadir", dir.toString(), "--start", "--target-gtid", past,
                "--config", physicalConfig.toString());
        assertThat(intoDirectory.code()).as("%s", intoDirectory).isEqualTo(Backstop.NOT_REACHED);
        assertThat(dir).doesNotExist();
    }

    @Test
    void postgresOptionsOnAMariaDbBackup_areConfigurationErrorsNamingWhatIsAllowed() throws Exception {
        Result lsn = backstop("restore", logicalId, "--to-database", "shop", "--target-lsn", "0/3000148",
                "--config", logicalConfig.toString());
        assertThat(lsn.code()).as("%s", lsn).isEqualTo(Backstop.USAGE);
        assertThat(lsn.err()).contains("--target-lsn: not supported for MariaDB", "--target-gtid", "--target-position",
                "--target-time", "--target-latest");

        Result otherName = backstop("restore", logicalId, "--to-database", "shop2", "--target-latest",
                "--config", logicalConfig.toString());
        assertThat(otherName.code()).as("%s", otherName).isEqualTo(Backstop.USAGE);
        assertThat(otherName.err()).contains("give --to-database shop");

        Result noStart = backstop("restore", physicalId, "--to-datadir", tmp.resolve("nostart").toString(), "--target-latest",
                "--config", physicalConfig.toString());
        assertThat(noStart.code()).as("%s", noStart).isEqualTo(Backstop.USAGE);
        assertThat(noStart.err()).contains("add --start");
        assertThat(strings(source.endpoint(), "SELECT name FROM shop.marker ORDER BY id")).containsExactly("m0", "m1", "m2", "m3");
    }

    static Path config(String name, String database) throws Exception {
        Path file = tmp.resolve(name);
        Files.writeString(file, "{\"backup\": {\n"
                + "  \"database\": {\"url\": \"${DB_URL}\", \"password\": \"${DB_PASSWORD}\", \"workDir\": \"" + tmp + "\"" + database + "},\n"
                + "  \"storage\": {\"provider\": \"filesystem\", \"path\": \"${BACKUP_DIR}\"},\n"
                + "  \"encryption\": {\"keyset\": \"${KEK_FILE}\"},\n"
                + "  \"binlog\": {\"serverId\": " + source.serverId() + ", \"spool\": \"" + tmp.resolve("spool") + "\"}\n}}\n");
        return file;
    }

    static Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        MariaDbEndpoint e = source.endpoint();
        env.put("DB_URL", "mariadb://" + e.user() + "@" + e.host() + ":" + e.port() + "/shop");
        env.put("DB_PASSWORD", e.password());
        env.put("BACKUP_DIR", tmp.resolve("repo").toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        return env;
    }

    static Process launcher(Path errFile, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(MariaDbCliIT.LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errFile.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        pb.environment().putAll(env());
        return pb.start();
    }

    /** The launcher run to its end, as a child process. */
    static Result backstop(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(MariaDbCliIT.LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        pb.environment().putAll(env());
        Process p = pb.start();
        if (!p.waitFor(PATIENCE.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("backstop " + String.join(" ", args) + " did not end within " + PATIENCE + ": "
                    + Files.readString(err));
        }
        Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        assertThat(r.out() + r.err()).doesNotContain(source.endpoint().password());
        return r;
    }

    static Result ok(String... args) throws Exception {
        Result r = backstop(args);
        assertThat(r.code()).as("backstop %s: %s", String.join(" ", args), r).isZero();
        return r;
    }

    static String masterStatus() throws Exception {
        try (Connection c = source.endpoint().connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW MASTER STATUS")) {
            rs.next();
            return rs.getString(1) + ":" + rs.getLong(2);
        }
    }

    static List<String> markers(MariaDbEndpoint e) throws Exception {
        return strings(e, "SELECT name FROM shop.marker ORDER BY id");
    }

    static void sql(MariaDbEndpoint e, String... statements) throws Exception {
        try (Connection c = e.connect(null); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    static String string(MariaDbEndpoint e, String query) {
        try {
            return strings(e, query).get(0);
        } catch (Exception x) {
            throw new IllegalStateException(query + ": " + x, x);
        }
    }

    static List<String> strings(MariaDbEndpoint e, String query) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = e.connect(null); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(query)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    static void awaitTrue(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("%s by now", what).isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }
}
