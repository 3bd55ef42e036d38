package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.event.AuditLog;
import dev.backstop.micrometer.PrometheusEndpoint;
import dev.backstop.testkit.ManualExecutor;
import dev.backstop.testkit.MutableClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.HttpURLConnection;
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
            Daemon d = Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false, new SimpleMeterRegistry());
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
            Daemon d = Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false, new SimpleMeterRegistry());

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
            Daemon d = Run.daemon(ctx, executor, alerts, java.time.Clock.systemUTC(), () -> true, new SimpleMeterRegistry());

            assertThat(d.runTick("backup", Instant.parse("2026-12-07T02:00:00Z"))).isEqualTo(Daemon.Outcome.FAILED);

            assertThat(alerts.pending()).as("webhook deliveries queued").isZero();
            AuditLog.Read audit = AuditLog.builder(ctx.keyedRepository()).build().read(Instant.EPOCH, Instant.now().plusSeconds(60));
            assertThat(audit.entries()).extracting(AuditLog.Entry::action).containsExactly(AuditLog.Action.BACKUP_FAILED);
        }
    }

    @Test
    void theMetricsEndpoint_servesAFailedBackupsSeries_overHttp() throws Exception {
        Path cfg = config("\"metrics\": [\"duration_ms\", \"size_bytes\", \"success_rate\"],",
                "\"metrics\": [], \"prometheus\": {\"bind\": \"127.0.0.1\", \"port\": 0},");
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        BackstopConfig c = BackstopConfig.load(cfg, env);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (Context ctx = new Context(c);
             PrometheusEndpoint endpoint = Run.metricsEndpoint(c.observability().prometheus().orElseThrow(), registry)) {
            Daemon d = Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false, registry);

            assertThat(d.runTick("backup", Instant.parse("2026-12-07T02:00:00Z"))).isEqualTo(Daemon.Outcome.FAILED);

            HttpURLConnection http = (HttpURLConnection) endpoint.uri().toURL().openConnection();
            assertThat(http.getResponseCode()).isEqualTo(200);
            String body = new String(http.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String repo = "repository=\"" + tmp.resolve("repo") + "\"";
            assertThat(body.lines()).anySatisfy(l -> assertThat(l).startsWith("backstop_backup_failed_total{")
                    .contains("final=\"true\"", repo, "type=\"logical\"").endsWith(" 1.0"));
            assertThat(body.lines()).anySatisfy(l -> assertThat(l).startsWith("backstop_backup_duration_seconds_count{")
                    .contains("outcome=\"failure\"", repo).endsWith(" 1"));
            // no backup is verified yet: the age is unknown, not zero
            assertThat(body.lines()).contains("backstop_backup_newest_verified_age_seconds{" + repo + "} NaN");
        }
    }

    @Test
    void theHealthChecks_measureTheWalRpoForMetrics_andAlertOnceWhenNoBackupIsVerifiedInTime() throws Exception {
        Path cfg = config("\"webhook\": \"${SLACK_WEBHOOK}\"",
                "\"webhook\": \"${SLACK_WEBHOOK}\", \"maxVerifiedAge\": \"1d\", \"maxRpo\": \"15m\", \"checkEvery\": \"10m\"");
        String text = Files.readString(cfg).replace("\"observability\": {",
                "\"wal\": {\"systemId\": \"7312345678901234567\"}, \"observability\": {");
        Files.writeString(cfg, text);
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        BackstopConfig c = BackstopConfig.load(cfg, env);
        assertThat(c.observability().checks().maxRpo()).contains(java.time.Duration.ofMinutes(15));
        MutableClock clock = new MutableClock(Instant.parse("2026-12-07T00:00:00Z"));
        ManualExecutor checks = new ManualExecutor(clock);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        String series = "backstop_wal_rpo_seconds{repository=\"" + tmp.resolve("repo") + "\"}";
        try (Context ctx = new Context(c, clock)) {
            Daemon d = Run.daemon(ctx, executor, executor, checks, clock, () -> false, registry).start();
            try {
                assertThat(registry.scrape().lines()).as("unknown before the first check").contains(series + " NaN");
                assertThat(checks.advance(clock, java.time.Duration.ofMinutes(10))).isEqualTo(1);
                // an empty archive has nothing unarchived
                assertThat(registry.scrape().lines()).contains(series + " 0.0");
                assertThat(alert).isNotDone();

                checks.advance(clock, java.time.Duration.ofDays(1));

                JsonNode sent = new ObjectMapper().readTree(alert.get(30, TimeUnit.SECONDS));
                assertThat(sent.get("kind").asText()).isEqualTo("NO_RECENT_BACKUP");
                assertThat(sent.get("subject").asText()).isEqualTo("newest verified backup");
            } finally {
                d.close();
            }
            assertThat(checks.pending()).as("closing the daemon stops the checks").isZero();
        }
    }

    @Test
    void aPortInUse_isAConfigurationErrorNamingTheKey() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            BackstopConfig.Prometheus p = new BackstopConfig.Prometheus("127.0.0.1", taken.getLocalPort());
            assertThatThrownBy(() -> Run.metricsEndpoint(p, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("backup.observability.prometheus")
                    .hasMessageContaining(Integer.toString(taken.getLocalPort()));
        }
    }

    @Test
    void aDaemonTick_logsJsonLinesCarryingTheBackupIdStageCorrelationIdAndRepository() throws Exception {
        Path cfg = config("", "");
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        StringWriter log = new StringWriter();
        Logging.configure(BackstopConfig.LogFormat.JSON, new PrintWriter(log));
        try (Context ctx = new Context(BackstopConfig.load(cfg, env))) {
            Daemon d = Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false, new SimpleMeterRegistry());
            d.runTick("backup", Instant.parse("2026-12-07T02:00:00Z"));
            d.runTick("backup", Instant.parse("2026-12-08T02:00:00Z"));
        } finally {
            Logging.configure(BackstopConfig.LogFormat.TEXT, new PrintWriter(System.err, true));
        }

        ObjectMapper json = new ObjectMapper();
        java.util.List<JsonNode> lines = new java.util.ArrayList<>();
        for (String l : log.toString().split("\n")) {
            lines.add(json.readTree(l)); // every line is one JSON object
        }
        java.util.List<JsonNode> failed = lines.stream()
                .filter(n -> n.path("kvpList").toString().contains("\"event\":\"backup.failed\"")).toList();
        assertThat(failed).hasSize(2);
        java.util.Set<String> correlations = new java.util.HashSet<>();
        for (JsonNode f : failed) {
            JsonNode mdc = f.get("mdc");
            assertThat(f.get("level").asText()).isEqualTo("ERROR");
            assertThat(mdc.get("backup.id").asText()).matches("\\d{8}T\\d{6}Z-logical-[a-z0-9]{6}");
            assertThat(mdc.get("backup.stage").asText()).isEqualTo("capture");
            assertThat(mdc.get("repository").asText()).isEqualTo(tmp.resolve("repo").toString());
            correlations.add(mdc.get("correlation.id").asText());
            assertThat(f.get("formattedMessage").asText()).contains(mdc.get("backup.id").asText());
        }
        assertThat(correlations).as("one correlation id per tick").hasSize(2);
        // every event of a backup, retried attempts and lines logged on other threads included, carries its tick's id
        java.util.List<JsonNode> ofBackups = lines.stream().filter(n -> n.path("mdc").has("backup.id")).toList();
        assertThat(ofBackups.size()).isGreaterThan(failed.size());
        for (JsonNode n : ofBackups) {
            assertThat(n.get("mdc").get("correlation.id").asText()).as("%s", n).isIn(correlations);
            assertThat(n.get("mdc").get("repository").asText()).as("%s", n).isEqualTo(tmp.resolve("repo").toString());
            assertThat(n.get("mdc").get("backup.stage").asText()).as("%s", n).isNotEmpty();
        }
        JsonNode started = lines.stream().filter(n -> n.path("kvpList").toString().contains("backup.started")).findFirst()
                .orElseThrow();
        // the daemon's pipeline holds the repository lock: a backup starts by taking it
        assertThat(started.get("mdc").get("backup.stage").asText()).isEqualTo("lock");
        assertThat(started.get("mdc").get("correlation.id").asText())
                .isEqualTo(failed.get(0).get("mdc").get("correlation.id").asText());
        assertThat(log.toString()).doesNotContain("s3cret");
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
            assertThatThrownBy(() -> Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false, new SimpleMeterRegistry()))
                    .isInstanceOf(ConfigException.class).hasMessageContaining("backup.schedule");
        }
    }

    @Test
    void theConfiguredJitterAndMissedRunsPolicy_goToTheBackupAndDrillJobs() throws Exception {
        Path cfg = config("\"schedule\": \"0 2 * * *\",", "\"schedule\": \"0 2 * * *\", \"jitter\": \"5m\", \"missedRuns\": \"runOnce\",");
        Files.writeString(cfg, Files.readString(cfg).replace("\"schedule\": \"0 3 * * 0\"", "\"schedule\": \"0 3 * * 0\", \"jitter\": \"1h\""));
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        try (Context ctx = new Context(BackstopConfig.load(cfg, env))) {
            Daemon d = Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false, new SimpleMeterRegistry());
            assertThat(d.jobs().get("backup").jitter()).isEqualTo(java.time.Duration.ofMinutes(5));
            assertThat(d.jobs().get("backup").missedRuns()).isEqualTo(Daemon.MissedRuns.RUN_ONCE);
            assertThat(d.jobs().get("drill").jitter()).isEqualTo(java.time.Duration.ofHours(1));
            assertThat(d.jobs().get("drill").missedRuns()).isEqualTo(Daemon.MissedRuns.SKIP);
        }
    }

    @Test
    void aConfigurationThatOnlyReceivesWal_makesADaemonWithoutJobs() throws Exception {
        Path cfg = config("\"schedule\": \"0 2 * * *\",", "\"wal\": {\"systemId\": \"7312345678901234567\", \"receive\": {\"workDir\": \""
                + tmp.resolve("receive") + "\"}},");
        Files.writeString(cfg, Files.readString(cfg).replace("\"enabled\": true", "\"enabled\": false"));
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        try (Context ctx = new Context(BackstopConfig.load(cfg, env))) {
            Daemon d = Run.daemon(ctx, executor, executor, java.time.Clock.systemUTC(), () -> false, new SimpleMeterRegistry());
            assertThat(d.jobs()).isEmpty();
            d.close();
        }
    }
}
