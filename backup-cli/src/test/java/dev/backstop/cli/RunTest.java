package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.AuditLog;
import dev.backstop.testkit.ManualExecutor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon {@code backstop run} builds from a configuration file: its jobs, alerts and audit log. */
class RunTest {
    @TempDir
    Path tmp;
    HttpServer webhook;
    CompletableFuture<String> alert = new CompletableFuture<>();
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    Map<String, String> env = new HashMap<>();

    @BeforeEach
    void setUp() throws Exception {
        webhook = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        webhook.createContext("/hook", ex -> {
            alert.complete(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        webhook.start();
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort(); // nothing listens here once it is closed: the database is down
        }
        env.put("DB_HOST", "127.0.0.1");
        env.put("DB_PORT", Integer.toString(closedPort));
        env.put("DB_USER", "backup");
        env.put("DB_PASSWORD", "s3cret");
        env.put("DB_NAME", "shop");
        env.put("BACKUP_DIR", tmp.resolve("repo").toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        env.put("SLACK_WEBHOOK", "http://127.0.0.1:" + webhook.getAddress().getPort() + "/hook");
    }

    @AfterEach
    void tearDown() {
        webhook.stop(0);
        executor.shutdownNow();
    }

    Path config(String from, String to) throws Exception {
        String text;
        try (var in = RunTest.class.getResourceAsStream("/filesystem.json")) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8).replace(from, to);
        }
        Path file = tmp.resolve("backstop.json");
        Files.writeString(file, text);
        return file;
    }

    @Test
    void theSeedsSchedules_becomeABackupJobAndADrillJob() throws Exception {
        Path cfg = config("", "");
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        try (Context ctx = new Context(BackstopConfig.load(cfg, env))) {
            Daemon d = Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false);
            assertThat(d.jobs()).containsOnlyKeys("backup", "drill");
            assertThat(((CronSchedule) d.jobs().get("backup").schedule()).expression()).isEqualTo("0 2 * * *");
            assertThat(((CronSchedule) d.jobs().get("drill").schedule()).expression()).isEqualTo("0 3 * * 0");
            // Sunday 2026-12-13 03:00 UTC is the first drill after Monday 2026-12-07
            assertThat(d.jobs().get("drill").schedule().next(Instant.parse("2026-12-07T02:00:00Z")))
                    .isEqualTo(Instant.parse("2026-12-13T03:00:00Z"));
        }
    }

    @Test
    void aBackupThatFails_alertsTheWebhookOnce_andIsInTheAuditLog() throws Exception {
        Path cfg = config("", "");
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        try (Context ctx = new Context(BackstopConfig.load(cfg, env))) {
            Daemon d = Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false);

            Daemon.Outcome o = d.runTick("backup", Instant.parse("2026-12-07T02:00:00Z"));

            assertThat(o).isEqualTo(Daemon.Outcome.FAILED);
            JsonNode sent = new ObjectMapper().readTree(alert.get(30, TimeUnit.SECONDS));
            assertThat(sent.get("kind").asText()).isEqualTo("BACKUP_FAILED");
            assertThat(sent.toString()).doesNotContain("s3cret");
            AuditLog.Read audit = AuditLog.builder(ctx.keyedRepository()).build().read(Instant.EPOCH, Instant.now().plusSeconds(60));
            assertThat(audit.entries()).extracting(AuditLog.Entry::action).containsExactly(AuditLog.Action.BACKUP_FAILED);
        }
    }

    @Test
    void aBackupAbortedBecauseTheDaemonIsStopping_isAuditedButDoesNotAlert() throws Exception {
        Path cfg = config("", "");
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        ManualExecutor alerts = new ManualExecutor(java.time.Clock.systemUTC());
        try (Context ctx = new Context(BackstopConfig.load(cfg, env))) {
            Daemon d = Run.daemon(ctx, executor, alerts, java.time.Clock.systemUTC(), () -> true);

            assertThat(d.runTick("backup", Instant.parse("2026-12-07T02:00:00Z"))).isEqualTo(Daemon.Outcome.FAILED);

            assertThat(alerts.pending()).as("webhook deliveries queued").isZero();
            AuditLog.Read audit = AuditLog.builder(ctx.keyedRepository()).build().read(Instant.EPOCH, Instant.now().plusSeconds(60));
            assertThat(audit.entries()).extracting(AuditLog.Entry::action).containsExactly(AuditLog.Action.BACKUP_FAILED);
        }
    }

    @Test
    void aConfigurationWithoutSchedules_isRefusedNamingTheKey() throws Exception {
        Path cfg = config("\"schedule\": \"0 2 * * *\",", "");
        String noDrill = Files.readString(cfg).replace("\"schedule\": \"0 3 * * 0\"", "\"schedule\": null")
                .replace("\"enabled\": true", "\"enabled\": false");
        Files.writeString(cfg, noDrill);
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        try (Context ctx = new Context(BackstopConfig.load(cfg, env))) {
            assertThatThrownBy(() -> Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("backup.schedule");
        }
    }
}
