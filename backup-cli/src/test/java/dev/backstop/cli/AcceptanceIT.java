package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.core.event.AuditLog;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.report.ComplianceReport;
import dev.backstop.core.report.Report;
import dev.backstop.micrometer.PrometheusEndpoint;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.wal.WalSpool;
import dev.backstop.testkit.ManualExecutor;
import dev.backstop.testkit.MutableClock;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon over five simulated days against a real PostgreSQL server and a real webhook
 * receiver: a failure a retry fixes, a failure for good, a drill of a damaged backup, WAL
 * archiving that stops. Exactly three alerts go out (the RPO breach once, though it lasts), and the
 * metrics, the audit log and the report tell the same story.
 */
class AcceptanceIT {
    static final ObjectMapper JSON = new ObjectMapper();
    // Thursday; backups at 02:00 daily, the drill on Sunday at 03:00 (filesystem.json)
    static final Instant START = Instant.parse("2026-12-10T00:00:00Z");

    @TempDir
    Path tmp;
    EphemeralPostgres pg;
    HttpServer webhook;
    final LinkedBlockingQueue<JsonNode> alerts = new LinkedBlockingQueue<>();
    final MutableClock clock = new MutableClock(START);
    final ManualExecutor ticks = new ManualExecutor(clock);
    final ScheduledExecutorService delivery = Executors.newSingleThreadScheduledExecutor();

    @BeforeEach
    void setUp() throws Exception {
        pg = EphemeralPostgres.start();
        pg.createDatabase("shop");
        try (Connection c = pg.connect("shop"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL)");
            s.execute("INSERT INTO customer SELECT i, 'customer ' || i FROM generate_series(1, 200) i");
        }
        webhook = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        webhook.createContext("/hook", ex -> {
            alerts.add(JSON.readTree(ex.getRequestBody().readAllBytes()));
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        webhook.start();
    }

    @AfterEach
    void tearDown() throws Exception {
        webhook.stop(0);
        delivery.shutdownNow();
        pg.close();
    }

    void at(String instant) {
        clock.advance(Duration.between(clock.instant(), Instant.parse(instant)));
        ticks.runDue();
    }

    void sql(String database, String statement) throws Exception {
        try (Connection c = pg.connect(database); Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    /**
     * Holds a lock pg_dump needs; once pg_dump waits for it, terminates pg_dump's connection (a
     * retryable failure: "terminating connection due to administrator command") and lets go, so
     * that the retry succeeds.
     */
    CompletableFuture<Integer> interruptOnce() throws Exception {
        Connection holder = pg.connect("shop");
        holder.setAutoCommit(false);
        try (Statement s = holder.createStatement()) {
            s.execute("LOCK TABLE customer IN ACCESS EXCLUSIVE MODE");
        }
        return CompletableFuture.supplyAsync(() -> {
            try (holder; Connection watch = pg.connect("postgres"); Statement s = watch.createStatement()) {
                Instant deadline = Instant.now().plusSeconds(60);
                while (Instant.now().isBefore(deadline)) {
                    try (ResultSet rs = s.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            + "WHERE datname = 'shop' AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE %'")) {
                        rs.next();
                        if (rs.getInt(1) > 0) {
                            holder.rollback();
                            return rs.getInt(1);
                        }
                    }
                    Thread.onSpinWait();
                }
                throw new AssertionError("no backup waited for the lock within 60 s");
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void fiveDays_threeAlerts_andMetricsAuditAndReportAgree() throws Exception {
        Path repo = tmp.resolve("repo");
        Path spool = tmp.resolve("spool");
        Map<String, String> env = new HashMap<>();
        env.put("DB_HOST", pg.endpoint().host());
        env.put("DB_PORT", Integer.toString(pg.endpoint().port()));
        env.put("DB_USER", pg.endpoint().user());
        env.put("DB_PASSWORD", pg.endpoint().password() == null ? "" : pg.endpoint().password());
        env.put("DB_NAME", "shop");
        env.put("BACKUP_DIR", repo.toString());
        env.put("KEK_FILE", tmp.resolve("kek.json").toString());
        env.put("SLACK_WEBHOOK", "http://127.0.0.1:" + webhook.getAddress().getPort() + "/hook");
        Path cfg = tmp.resolve("backstop.json");
        try (var in = AcceptanceIT.class.getResourceAsStream("/filesystem.json")) {
            Files.writeString(cfg, new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .replace("\"retries\": {\"attempts\": 1}", "\"retries\": {\"attempts\": 2, \"backoff\": \"2s\"}")
                    // WAL archiving through a spool whose drainer is not running; the RPO checked hourly
                    .replace("\"observability\": {", "\"wal\": {\"systemId\": \"7312345678901234567\", \"spool\": \""
                            + spool + "\", \"drainer\": \"external\"}, \"observability\": {")
                    .replace("\"webhook\": \"${SLACK_WEBHOOK}\"", "\"webhook\": \"${SLACK_WEBHOOK}\", \"maxRpo\": \"15m\", \"checkEvery\": \"1h\""));
        }
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, env,
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        // the daemon's warnings to the test's stderr (the command above logged to its own writer)
        Logging.configure(BackstopConfig.LogFormat.TEXT, new PrintWriter(System.err, true));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        BackstopConfig config = BackstopConfig.load(cfg, env);

        try (Context ctx = new Context(config, clock);
             PrometheusEndpoint endpoint = Run.metricsEndpoint(new BackstopConfig.Prometheus("127.0.0.1", 0), registry)) {
            Daemon daemon = Run.daemon(ctx, ticks, delivery, ticks, clock, () -> false, registry).start();
            assertThat(alerts.poll(1, TimeUnit.SECONDS)).as("an alert on start").isNull();

            // Thursday: a backup
            at("2026-12-10T02:00:00Z");
            // then WAL archiving stops: the server's current segment, with the table's commits, stays in the spool
            Path current;
            try (var files = Files.list(pg.directory().resolve("data").resolve("pg_wal"))) {
                current = files.filter(f -> f.getFileName().toString().matches("[0-9A-F]{24}")).max(java.util.Comparator.naturalOrder())
                        .orElseThrow();
            }
            WalSpool.at(spool).enqueue(current, current.getFileName().toString());
            at("2026-12-10T03:00:00Z");
            JsonNode rpo = alerts.poll(30, TimeUnit.SECONDS);
            assertThat(rpo).as("the RPO alert").isNotNull();
            assertThat(rpo.get("subject").asText()).isEqualTo("WAL archive of system 7312345678901234567");
            assertThat(rpo.get("message").asText()).contains("above the allowed PT15M", "#runbook-wal-rpo");
            // Friday: the first attempt is cut off, the retry succeeds: counted, not alerted
            CompletableFuture<Integer> cut = interruptOnce();
            at("2026-12-11T02:00:00Z");
            assertThat(cut.get(60, TimeUnit.SECONDS)).isPositive();
            assertThat(registry.find("backstop.backup.retries").counters()).as("%s", registry.scrape())
                    .extracting(Counter::count).containsExactly(1.0);
            // Saturday: the database is gone for good (not retryable): one alert
            sql("postgres", "ALTER DATABASE shop RENAME TO shop_moved");
            at("2026-12-12T02:00:00Z");
            sql("postgres", "ALTER DATABASE shop_moved RENAME TO shop");
            JsonNode failed = alerts.poll(30, TimeUnit.SECONDS);
            assertThat(failed).as("the backup-failed alert").isNotNull();
            assertThat(failed.get("kind").asText()).isEqualTo("BACKUP_FAILED");
            // Sunday: a backup, then its drill finds a damaged object: one alert
            at("2026-12-13T02:00:00Z");
            Manifest sunday = ctx.keyedRepository().catalog().list().stream().max(java.util.Comparator.comparing(Manifest::finishedAt))
                    .orElseThrow();
            StoredObject dump = sunday.objects().get(0);
            Path file = repo.resolve(dump.key());
            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length / 2] ^= 1;
            Files.write(file, bytes);
            at("2026-12-13T03:00:00Z");
            JsonNode mismatch = alerts.poll(30, TimeUnit.SECONDS);
            assertThat(mismatch).as("the drill's alert").isNotNull();
            assertThat(mismatch.get("kind").asText()).isEqualTo("VALIDATION_FAILED");
            assertThat(mismatch.get("backupId").asText()).isEqualTo(sunday.id().value());
            // Monday: a backup
            at("2026-12-14T02:00:00Z");
            daemon.close();
            assertThat(alerts.poll(2, TimeUnit.SECONDS)).as("any further alert").isNull();

            // the series a scrape shows
            HttpURLConnection http = (HttpURLConnection) endpoint.uri().toURL().openConnection();
            List<String> scrape = new String(http.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
            String r = "repository=\"" + repo + "\"";
            assertThat(scrape).contains("backstop_backup_succeeded_total{" + r + ",type=\"logical\"} 4.0");
            assertThat(sum(scrape, "backstop_backup_failed_total{final=\"false\"")).isEqualTo(1.0);
            assertThat(sum(scrape, "backstop_backup_failed_total{final=\"true\"")).isEqualTo(1.0);
            assertThat(sum(scrape, "backstop_backup_retries_total{")).isEqualTo(1.0);
            assertThat(scrape).contains("backstop_validation_results_total{outcome=\"fail\"," + r + ",validator=\"restore-drill\"} 1.0");
            assertThat(sum(scrape, "backstop_wal_rpo_seconds{")).as("archiving stopped on Thursday").isGreaterThan(4 * 86400.0);

            // the audit log: every backup, the failure for good, the drill; not the cut-off attempt
            AuditLog.Read audit = ctx.auditLog().read(START, clock.instant().plusSeconds(1));
            assertThat(audit.tampered()).isEmpty();
            List<String> actions = new ArrayList<>();
            for (AuditLog.Entry e : audit.entries()) {
                if (e.action() != AuditLog.Action.RESTORE) {
                    actions.add(e.at() + " " + e.action());
                }
            }
            assertThat(actions).containsExactly(
                    "2026-12-10T02:00:00Z BACKUP", "2026-12-11T02:00:00Z BACKUP", "2026-12-12T02:00:00Z BACKUP_FAILED",
                    "2026-12-13T02:00:00Z BACKUP", "2026-12-13T03:00:00Z DRILL", "2026-12-14T02:00:00Z BACKUP");

            // the report of the five days says the same
            Report report = ComplianceReport.builder(ctx.keyedRepository()).auditLog(ctx.auditLog())
                    .targets(config.observability().slo()).clock(clock).build()
                    .generate(START, Instant.parse("2026-12-15T00:00:00Z"));
            assertThat(report.slo(ComplianceReport.SUCCESS_RATE).achieved()).isEqualTo("80.0 %");
            assertThat(report.slo(ComplianceReport.SUCCESS_RATE).met()).isFalse();
            assertThat(report.slo(ComplianceReport.VALIDATION_PASS_RATE).achieved()).isEqualTo("0.0 %");
            assertThat(report.slo(ComplianceReport.RPO).achieved()).isEqualTo("2d 0h"); // Friday to Sunday
            assertThat(report.slo(ComplianceReport.RPO).met()).isFalse();
            assertThat(report.backups()).hasSize(4);
            assertThat(report.attempts()).extracting(Report.Attempt::succeeded).containsExactly(true, true, false, true, true);
        }
    }

    private static double sum(List<String> scrape, String prefix) {
        return scrape.stream().filter(l -> l.startsWith(prefix)).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }
}
