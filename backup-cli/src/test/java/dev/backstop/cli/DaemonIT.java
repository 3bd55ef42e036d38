package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.Orphans;
import dev.backstop.core.Repository;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.postgres.EphemeralPostgres;
import java.io.PrintWriter;
import java.io.StringWriter;
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
        // the aborted backup released the repository lock: the next one need not wait for its expiry
        try (RepositoryLock.Lease lease = RepositoryLock.builder(r.sink()).build().acquire()) {
            assertThat(lease.token()).isPositive();
        }
    }
}
