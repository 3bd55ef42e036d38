package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.micrometer.MicrometerListener;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.binlog.BinlogArchive;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
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
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line against a throwaway MariaDB server, with the configuration naming it by URL
 * and its password by environment variable: logical and physical backups through list, verify,
 * drill and restore in process, and {@code binlog stream} as a child process of the built launcher,
 * stopped by SIGTERM.
 */
class MariaDbCliIT {
    static final Path LAUNCHER = Path.of("target/backstop/bin/backstop").toAbsolutePath();
    static final ObjectMapper JSON = new ObjectMapper();
    static EphemeralMariaDb db;

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    @BeforeAll
    static void start() throws Exception {
        db = EphemeralMariaDb.start();
        sql("CREATE DATABASE shop", "CREATE TABLE shop.customer (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL) ENGINE=InnoDB",
                "INSERT INTO shop.customer SELECT seq, CONCAT('customer ', seq) FROM shop.seq_1_to_500",
                // what the binlog tests write goes elsewhere: the backups of shop stay at 500 rows
                "CREATE DATABASE events", "CREATE TABLE events.e (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(64) NOT NULL)");
    }

    @AfterAll
    static void stop() throws Exception {
        db.close();
    }

    static void sql(String... statements) throws Exception {
        try (Connection c = db.connect(null); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    static long count(String table) throws Exception {
        try (Connection c = db.connect(null); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
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

    Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        env.put("DB_URL", "mariadb://" + db.endpoint().user() + "@" + db.endpoint().host() + ":" + db.endpoint().port() + "/shop");
        env.put("DB_PASSWORD", db.endpoint().password());
        env.put("BACKUP_DIR", tmp.resolve("repo").toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        return env;
    }

    /** A configuration with {@code database} extra settings and {@code backup} extra sections; a key-encryption key created. */
    Path config(String database, String backup) throws Exception {
        Path file = writeConfig(database, backup);
        if (!Files.exists(tmp.resolve("kek.json"))) {
            Result keys = backstop("keys", "create", "--config", file.toString());
            assertThat(keys.code()).as("%s", keys).isZero();
        }
        return file;
    }

    Path writeConfig(String database, String backup) throws Exception {
        Path file = tmp.resolve("backstop.json");
        Files.writeString(file, "{\"backup\": {\n"
                + "  \"database\": {\"url\": \"${DB_URL}\", \"password\": \"${DB_PASSWORD}\", \"workDir\": \"" + tmp + "\"" + database + "},\n"
                + "  \"storage\": {\"provider\": \"filesystem\", \"path\": \"${BACKUP_DIR}\"},\n"
                + "  \"encryption\": {\"keyset\": \"${KEK_FILE}\"}" + backup + "\n}}\n");
        return file;
    }

    Result backstop(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Backstop.execute(args, env(), new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void backupListVerifyDrillAndRestore_ofAMariaDbDatabase_workFromTheCommandLine() throws Exception {
        String cfg = config("", "").toString();

        Result backup = backstop("backup", "--config", cfg, "--json");
        assertThat(backup.code()).as("%s", backup).isZero();
        String id = JSON.readTree(backup.out()).get("id").asText();
        assertThat(backup.out() + backup.err()).doesNotContain(db.endpoint().password());

        Result list = backstop("list", "--config", cfg, "--json");
        assertThat(list.code()).as("%s", list).isZero();
        JsonNode backups = JSON.readTree(list.out()).get("backups");
        assertThat(backups).hasSize(1);
        assertThat(backups.get(0).get("id").asText()).isEqualTo(id);
        assertThat(backups.get(0).get("type").asText()).isEqualTo("logical");

        Result info = backstop("info", id, "--config", cfg, "--json");
        assertThat(info.code()).as("%s", info).isZero();
        assertThat(JSON.readTree(info.out()).get("source").asText()).startsWith("mariadb ");
        assertThat(JSON.readTree(info.out()).get("rows").asLong()).isEqualTo(500);

        Result verify = backstop("verify", "--latest", "--full", "--config", cfg, "--json");
        assertThat(verify.code()).as("%s", verify).isZero();
        assertThat(JSON.readTree(verify.out()).get("passed").asBoolean()).isTrue();

        Result drill = backstop("drill", id, "--config", cfg, "--json");
        assertThat(drill.code()).as("%s", drill).isZero();
        JsonNode d = JSON.readTree(drill.out());
        assertThat(d.get("check").asText()).isEqualTo("restore-drill");
        assertThat(d.get("passed").asBoolean()).isTrue();
        assertThat(d.get("measurements").get("rto_ms").asLong()).isPositive();

        Result restore = backstop("restore", id, "--to-database", "shop_restored", "--config", cfg);
        assertThat(restore.code()).as("%s", restore).isZero();
        assertThat(restore.out()).startsWith("restored " + id + " into database shop_restored");
        assertThat(count("shop_restored.customer")).isEqualTo(500);

        Result again = backstop("list", "--config", cfg);
        assertThat(again.out()).contains(id, "restore-drill passed");
    }

    @Test
    void physicalMode_backsUpTheWholeServer_drillsIt_andRestoresItIntoADataDirectory() throws Exception {
        String cfg = config(", \"mode\": \"physical\"", "").toString();

        Result backup = backstop("backup", "--config", cfg, "--json");
        assertThat(backup.code()).as("%s", backup).isZero();
        String id = JSON.readTree(backup.out()).get("id").asText();
        assertThat(JSON.readTree(backup.out()).get("type").asText()).isEqualTo("physical");

        Result drill = backstop("drill", "--latest", "--config", cfg, "--json");
        assertThat(drill.code()).as("%s", drill).isZero();
        assertThat(JSON.readTree(drill.out()).get("check").asText()).isEqualTo("physical-restore-drill");
        assertThat(JSON.readTree(drill.out()).get("passed").asBoolean()).isTrue();

        Result intoDatabase = backstop("restore", id, "--to-database", "shop2", "--config", cfg);
        assertThat(intoDatabase.code()).as("%s", intoDatabase).isEqualTo(Backstop.USAGE);
        assertThat(intoDatabase.err()).contains("physical copy of a whole MariaDB server", "--to-datadir");

        Path datadir = tmp.resolve("datadir");
        Result restore = backstop("restore", id, "--to-datadir", datadir.toString(), "--config", cfg);
        assertThat(restore.code()).as("%s", restore).isZero();
        assertThat(restore.out()).startsWith("restored " + id + " into data directory " + datadir);
        assertThat(datadir.resolve("shop").resolve("customer.ibd")).isRegularFile();
    }

    @Test
    void aTypoUnderTheMariaDbSettings_isAConfigurationErrorNamingTheKey() throws Exception {
        String cfg = writeConfig(", \"jobz\": 4", "").toString();

        Result check = backstop("config", "check", "--config", cfg);

        assertThat(check.code()).as("%s", check).isEqualTo(Backstop.USAGE);
        assertThat(check.err()).contains("backup.database.jobz: unknown key; allowed here: ", "jobs", "mode")
                .doesNotContain(db.endpoint().password());
    }

    @Test
    void binlogStream_archivesACompletedFileAfterAFlush_andStopsCleanlyOnSigterm() throws Exception {
        Path cfg = config("", ",\n  \"binlog\": {\"serverId\": " + db.serverId() + ", \"spool\": \"" + tmp.resolve("spool") + "\"}");
        List<String> cmd = List.of(LAUNCHER.toString(), "binlog", "stream", "--config", cfg.toString());
        Path errFile = tmp.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errFile.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        pb.environment().putAll(env());
        BinlogArchive archive = BinlogArchive.builder(Repository.filesystem(tmp.resolve("repo")), "server-" + db.serverId(),
                db.serverId()).keys(LocalKeysetKek.load(tmp.resolve("kek.json"))).build();
        Process p = pb.start();
        String completed;
        try {
            await("receiving", () -> read(errFile).contains("binlog stream: receiving"), p, errFile);
            sql("INSERT INTO events.e (note) SELECT 'streamed' FROM events.seq_1_to_100");
            completed = serverFiles().get(serverFiles().size() - 1);
            sql("FLUSH BINARY LOGS");
            await(completed + " archived", () -> archive.contains(completed), p, errFile);
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("stopped").isTrue();
        } finally {
            p.destroyForcibly();
        }
        String err = read(errFile);

        assertThat(p.exitValue()).as("exit code; stderr:%n%s", err).isEqualTo(143);
        assertThat(err).contains("binlog stream: stopped").doesNotContain(db.endpoint().password());
        Path fetched = tmp.resolve("fetched");
        assertThat(archive.get(completed, fetched)).isTrue();
        assertThat(Files.readAllBytes(fetched)).isEqualTo(Files.readAllBytes(db.directory().resolve("data").resolve(completed)));

        Result status = backstop("binlog", "status", "--config", cfg.toString(), "--json");
        assertThat(status.code()).as("%s", status).isZero();
        JsonNode base = JSON.readTree(status.out()).get("baseNames").get(0);
        assertThat(base.get("continuousFrom").asText()).isEqualTo(serverFiles().get(0));
        assertThat(base.get("last").asText()).isEqualTo(completed);
        assertThat(base.get("gaps")).isEmpty();
    }

    @Test
    void run_withBinlogSettings_streamsBesideTheJobs_andShowsTheBinlogGauges() throws Exception {
        Path cfg = config("", ",\n  \"binlog\": {\"spool\": \"" + tmp.resolve("spool") + "\"}");
        BackstopConfig c = BackstopConfig.load(cfg, env());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
        try (Context ctx = new Context(c)) {
            Daemon d = Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false, registry).start();
            try {
                BinlogArchive archive = BinlogArchive.builder(ctx.repository(), "server-" + db.serverId(), db.serverId())
                        .keys(ctx.kek().orElseThrow()).build();
                String completed = serverFiles().get(serverFiles().size() - 1);
                sql("INSERT INTO events.e (note) SELECT 'by the daemon' FROM events.seq_1_to_100", "FLUSH BINARY LOGS");
                awaitTrue(completed + " archived by the daemon", () -> archive.contains(completed));
                awaitTrue("the gauges", () -> registry.find(MicrometerListener.BINLOG_ARCHIVED_FILE).gauge() != null
                        && registry.get(MicrometerListener.BINLOG_ARCHIVED_FILE).gauge().value() >= BinlogArchive.file(completed).start());

                assertThat(registry.get(MicrometerListener.BINLOG_RUNNING).gauge().value()).isEqualTo(1.0);
                assertThat(registry.get(MicrometerListener.BINLOG_RPO).timeGauge().value(TimeUnit.SECONDS)).isLessThan(60.0);
            } finally {
                d.close();
            }
        } finally {
            executor.shutdownNow();
        }
    }

    static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static void await(String what, BooleanSupplier done, Process p, Path errFile) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!done.getAsBoolean()) {
            assertThat(p.isAlive()).as("binlog stream running while waiting for %s; stderr:%n%s", what, read(errFile)).isTrue();
            assertThat(System.nanoTime()).as("%s by now; stderr:%n%s", what, read(errFile)).isLessThan(deadline);
            p.waitFor(50, TimeUnit.MILLISECONDS);
        }
    }

    static void awaitTrue(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("%s by now", what).isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }
}
