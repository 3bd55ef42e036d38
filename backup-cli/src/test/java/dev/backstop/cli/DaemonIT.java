package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.backstop.cli.CliIT.Result;
import dev.backstop.core.Orphans;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.postgres.EphemeralPostgres;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code backstop run} as a child process of the built launcher, stopped by SIGTERM in the middle of a backup. */
class DaemonIT {
    static final Path LAUNCHER = Path.of("target/backstop/bin/backstop").toAbsolutePath();
    static EphemeralPostgres pg;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        pg = EphemeralPostgres.start();
        pg.createDatabase("shop");
        try (Connection c = pg.connect("shop"); Statement s = c.createStatement()) {
            // enough data (about 150 MB) that the backup is still running when SIGTERM comes
            s.execute("CREATE TABLE event AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS body"
                    + " FROM generate_series(1, 1200000) g");
        }
        // quick backups, for ticks seconds apart
        pg.createDatabase("small");
        try (Connection c = pg.connect("small"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customer AS SELECT g AS id, 'customer ' || g AS name FROM generate_series(1, 100) g");
        }
    }

    Map<String, String> env(Path repo, String database, String webhook) {
        Map<String, String> env = new HashMap<>();
        env.put("DB_HOST", pg.endpoint().host());
        env.put("DB_PORT", Integer.toString(pg.endpoint().port()));
        env.put("DB_USER", pg.endpoint().user());
        env.put("DB_PASSWORD", pg.endpoint().password() == null ? "" : pg.endpoint().password());
        env.put("DB_NAME", database);
        env.put("BACKUP_DIR", repo.toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        env.put("SLACK_WEBHOOK", webhook);
        return env;
    }

    Process daemon(Map<String, String> env, Path cfg, Path errFile) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "run", "--config", cfg.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errFile.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        pb.environment().putAll(env);
        return pb.start();
    }

    /** The ticks a daemon's log says it ran, and those it skipped because the other held them. */
    static Map<String, List<String>> ticks(String log) {
        Map<String, List<String>> t = new HashMap<>(Map.of("running", new ArrayList<>(), "skipped", new ArrayList<>()));
        Matcher m = Pattern.compile("backup at (\\S+): (running|another replica holds this tick; skipped)").matcher(log);
        while (m.find()) {
            t.get(m.group(2).equals("running") ? "running" : "skipped").add(m.group(1));
        }
        return t;
    }

    @Test
    void twoDaemonProcesses_onOneRepository_takeExactlyOneBackupPerTick_theLoserSkipsQuietly_andNothingAlerts() throws Exception {
        Path repo = tmp.resolve("repo");
        List<String> alerts = java.util.Collections.synchronizedList(new ArrayList<>());
        HttpServer hook = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hook.createContext("/hook", ex -> {
            alerts.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        hook.start();
        Map<String, String> env = env(repo, "small", "http://127.0.0.1:" + hook.getAddress().getPort() + "/hook");
        Path cfg = tmp.resolve("backstop.json");
        try (var in = DaemonIT.class.getResourceAsStream("/filesystem.json")) {
            // a tick every ten seconds (cron's optional seconds field); every backup kept, so each one can be counted
            Files.writeString(cfg, new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .replace("\"schedule\": \"0 2 * * *\"", "\"schedule\": \"*/10 * * * * *\"")
                    .replace("\"deleteExpired\": true", "\"deleteExpired\": false"));
        }
        StringWriter keysOut = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(keysOut), new PrintWriter(keysOut))).as("%s", keysOut).isZero();
        Repository keyed = Repository.filesystem(repo).withKeys(LocalKeysetKek.load(tmp.resolve("kek.json")));

        Path errA = tmp.resolve("a.err");
        Path errB = tmp.resolve("b.err");
        Process a = daemon(env, cfg, errA);
        Process b = daemon(env, cfg, errB);
        String logA;
        String logB;
        try {
            // until three ticks were contested: both daemons logged each of them
            Instant deadline = Instant.now().plusSeconds(150);
            while (true) {
                logA = Files.readString(errA);
                logB = Files.readString(errB);
                List<String> both = new ArrayList<>(ticks(logA).get("running"));
                both.addAll(ticks(logA).get("skipped"));
                List<String> seenByB = new ArrayList<>(ticks(logB).get("running"));
                seenByB.addAll(ticks(logB).get("skipped"));
                both.retainAll(seenByB);
                if (both.size() >= 3 && keyed.catalog().list().size() >= 3) {
                    break;
                }
                assertThat(a.isAlive() && b.isAlive()).as("daemons running; a:%n%s%nb:%n%s", logA, logB).isTrue();
                assertThat(Instant.now()).as("three contested ticks by now; a:%n%s%nb:%n%s", logA, logB).isBefore(deadline);
                a.waitFor(200, TimeUnit.MILLISECONDS);
            }
            a.destroy();
            b.destroy();
            assertThat(a.waitFor(60, TimeUnit.SECONDS) && b.waitFor(60, TimeUnit.SECONDS)).as("stopped").isTrue();
        } finally {
            a.destroyForcibly();
            b.destroyForcibly();
            hook.stop(0);
        }
        assertThat(a.exitValue()).isEqualTo(Backstop.STOPPED);
        assertThat(b.exitValue()).isEqualTo(Backstop.STOPPED);

        Map<String, List<String>> ta = ticks(logA);
        Map<String, List<String>> tb = ticks(logB);
        List<String> ranTwice = new ArrayList<>(ta.get("running"));
        ranTwice.retainAll(tb.get("running"));
        assertThat(ranTwice).as("ticks both daemons ran").isEmpty();
        assertThat(ta.get("running").size() + tb.get("running").size()).as("ticks run").isGreaterThanOrEqualTo(3);
        // every tick one daemon ran, the other (once up) skipped
        List<String> contested = new ArrayList<>(ta.get("skipped"));
        contested.addAll(tb.get("skipped"));
        assertThat(contested).hasSizeGreaterThanOrEqualTo(3).allSatisfy(t ->
                assertThat(ta.get("running").contains(t) || tb.get("running").contains(t)).as("tick %s ran somewhere", t).isTrue());
        // quietly: before SIGTERM, neither daemon warned of anything, and no alert went out at all
        assertThat((logA + logB).lines().filter(l -> l.contains(" WARN ") || l.contains(" ERROR "))).isEmpty();
        assertThat(alerts).isEmpty();
        // one backup per tick: no two backups started within the same ten seconds
        List<Manifest> backups = keyed.catalog().list();
        assertThat(backups).hasSizeGreaterThanOrEqualTo(3);
        assertThat(backups.stream().map(m -> m.startedAt().getEpochSecond() / 10).distinct()).hasSameSizeAs(backups);
        Result listed = CliIT.run(env, "list", "--json", "--config", cfg.toString());
        assertThat(CliIT.JSON.readTree(listed.out()).get("backups")).hasSize(backups.size());
    }

    @AfterAll
    static void stop() throws Exception {
        pg.close();
    }

    static boolean pgDumpCopying() throws Exception {
        try (Connection c = pg.connect("shop"); Statement s = c.createStatement();
             var rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'backstop' AND query LIKE 'COPY %'")) {
            rs.next();
            return rs.getInt(1) > 0;
        }
    }

    @Test
    void sigtermDuringABackup_abortsIt_leavingNoBackupAndNoOrphans_andExitsWith143() throws Exception {
        Path repo = tmp.resolve("repo");
        Map<String, String> env = new HashMap<>();
        env.put("DB_HOST", pg.endpoint().host());
        env.put("DB_PORT", Integer.toString(pg.endpoint().port()));
        env.put("DB_USER", pg.endpoint().user());
        env.put("DB_PASSWORD", pg.endpoint().password() == null ? "" : pg.endpoint().password());
        env.put("DB_NAME", "shop");
        env.put("BACKUP_DIR", repo.toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        env.put("SLACK_WEBHOOK", "https://hooks.slack.example/services/T0/B0/tok3n");
        Path cfg = tmp.resolve("backstop.json");
        try (var in = DaemonIT.class.getResourceAsStream("/filesystem.json")) {
            Files.write(cfg, in.readAllBytes());
        }
        StringWriter keysOut = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(keysOut), new PrintWriter(keysOut))).as("%s", keysOut).isZero();

        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString(), "run", "--backup-now", "--config", cfg.toString()));
        Path errFile = tmp.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(errFile.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            // the backup is under way once pg_dump copies the table (its application name is backstop)
            Instant deadline = Instant.now().plusSeconds(30);
            while (!pgDumpCopying()) {
                assertThat(p.isAlive()).as("daemon running; stderr:%n%s", Files.readString(errFile)).isTrue();
                assertThat(Instant.now()).as("pg_dump copying by now; stderr:%n%s", Files.readString(errFile)).isBefore(deadline);
                Thread.onSpinWait();
            }
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("stopped").isTrue();
        } finally {
            p.destroyForcibly();
        }
        String err = Files.readString(errFile);

        assertThat(p.exitValue()).as("exit code; stderr:%n%s", err).isEqualTo(143);
        assertThat(err).contains("run: stopped").doesNotContain("did not stop within");
        Repository r = Repository.filesystem(repo);
        assertThat(r.catalog().list()).as("backups visible after SIGTERM").isEmpty();
        Orphans left = r.orphans(Instant.now(), Duration.ZERO);
        assertThat(left.objects()).as("data objects left behind").isEmpty();
        assertThat(left.incomplete()).as("unfinished writes left behind").isEmpty();
        // what an operator sees: backstop list and backstop orphans show nothing of the aborted backup
        Result listed = CliIT.run(env, "list", "--json", "--config", cfg.toString());
        assertThat(listed.code()).as("%s", listed).isZero();
        assertThat(CliIT.JSON.readTree(listed.out()).get("backups")).isEmpty();
        assertThat(CliIT.JSON.readTree(listed.out()).get("damaged")).isEmpty();
        Result orphans = CliIT.run(env, "orphans", "--grace", "0s", "--json", "--config", cfg.toString());
        assertThat(orphans.code()).as("%s", orphans).isZero();
        assertThat(CliIT.JSON.readTree(orphans.out()).get("objects")).isEmpty();
        assertThat(CliIT.JSON.readTree(orphans.out()).get("incompleteWrites")).isEmpty();
        // the aborted backup released the repository lock: the next one need not wait for its expiry
        try (RepositoryLock.Lease lease = RepositoryLock.builder(r.sink()).build().acquire()) {
            assertThat(lease.token()).isPositive();
        }
    }
}
