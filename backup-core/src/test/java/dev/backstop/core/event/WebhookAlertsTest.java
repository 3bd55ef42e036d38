package dev.backstop.core.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.backstop.core.BackupId;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.CaptureException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.MutableClock;
import dev.backstop.core.Repository;
import dev.backstop.core.TestSources;
import dev.backstop.core.ValidationResult;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WebhookAlertsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;
    final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
    final MutableClock clock = new MutableClock(Instant.parse("2026-11-21T03:00:00Z"));
    final BlockingQueue<JsonNode> received = new LinkedBlockingQueue<>();
    final AtomicInteger requests = new AtomicInteger();
    HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
        executor.shutdownNow();
    }

    /** A webhook receiver on a random loopback port answering {@code statuses} in turn, then 200. */
    URI receiver(int... statuses) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/hook", exchange -> {
            int n = requests.getAndIncrement();
            int status = n < statuses.length ? statuses[n] : 200;
            if (status == 200) {
                received.add(JSON.readTree(exchange.getRequestBody()));
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook");
    }

    WebhookAlerts.Builder webhook(URI uri) {
        return WebhookAlerts.builder(uri).executor(executor).clock(clock).retries(3, Duration.ZERO);
    }

    BackupPipeline failingPipeline(Alerts alerts) {
        return BackupPipeline.builder().source(TestSources.failingAfter(10, false))
                .repository(Repository.filesystem(tmp.resolve("repo"))).noEncryption().listener(alerts).clock(clock).build();
    }

    @Test
    void failedBackup_isPostedAsGenericJson_withItsRunbookLink() throws Exception {
        WebhookAlerts hook = webhook(receiver()).build();
        Alerts alerts = Alerts.to(hook, Duration.ofHours(26), clock);

        assertThatThrownBy(() -> failingPipeline(alerts).run()).isInstanceOf(CaptureException.class);

        JsonNode alert = received.poll(10, TimeUnit.SECONDS);
        assertThat(alert).isNotNull();
        assertThat(alert.get("kind").asText()).isEqualTo("BACKUP_FAILED");
        assertThat(alert.get("subject").asText()).isEqualTo("RAW backup at CAPTURE");
        assertThat(alert.get("backupId").asText()).matches("20261121T030000Z-raw-[a-z0-9]{6}");
        assertThat(alert.get("at").asText()).isEqualTo("2026-11-21T03:00:00Z");
        assertThat(alert.get("runbook").asText()).isEqualTo(
                "https://github.com/backstop-dev/backstop/blob/main/docs/operations.md#runbook-backup-failed");
        assertThat(hook.awaitIdle(Duration.ofSeconds(10))).isTrue();
        assertThat(hook.stats()).isEqualTo(new WebhookAlerts.Stats(1, 0, 0, 0, 0, 0));
    }

    @Test
    void slackFormat_postsOneTextField_namingKindSubjectAndRunbook() throws Exception {
        WebhookAlerts hook = webhook(receiver()).format(WebhookAlerts.Format.SLACK)
                .runbooks(URI.create("https://wiki.example/backups")).build();
        Alerts alerts = Alerts.to(hook, Duration.ofHours(26), clock);
        BackupId id = BackupId.parse("20261121T000000Z-raw-abc123");

        alerts.validated(new ValidationResult(id, "restore-drill", clock.instant(), Duration.ZERO,
                List.of("table public.orders: expected 10 rows, found 9 <!channel> & more"), Map.of()));

        JsonNode alert = received.poll(10, TimeUnit.SECONDS);
        assertThat(alert).isNotNull();
        assertThat(alert.size()).isEqualTo(1);
        assertThat(alert.get("text").asText())
                .contains("VALIDATION_FAILED", "restore-drill of 20261121T000000Z-raw-abc123", "expected 10 rows, found 9")
                .contains("&lt;!channel&gt; &amp; more").doesNotContain("<!channel>")
                .contains("<https://wiki.example/backups#runbook-validation-failed>");
    }

    @Test
    void receiverAnswering500ThenOk_getsTheAlertOnceAfterARetry() throws Exception {
        WebhookAlerts hook = webhook(receiver(500)).build();
        Alerts alerts = Alerts.to(hook, Duration.ofHours(26), clock);

        alerts.keyOperationFailed("rotate", "kek-2026", new IllegalStateException("KMS denied access"));

        assertThat(hook.awaitIdle(Duration.ofSeconds(10))).isTrue();
        assertThat(requests).hasValue(2);
        assertThat(received).singleElement().satisfies(a -> {
            assertThat(a.get("kind").asText()).isEqualTo("KEY_OPERATION_FAILED");
            assertThat(a.get("message").asText()).contains("KMS denied access");
            assertThat(a.get("runbook").asText()).endsWith("#runbook-key-operation-failed");
        });
        assertThat(hook.stats()).isEqualTo(new WebhookAlerts.Stats(1, 0, 1, 0, 0, 0));
    }

    @Test
    void receiverThatIsDown_neitherFailsNorDelaysTheBackup_andTheAlertIsCountedAsFailed() throws Exception {
        URI down = receiver();
        server.stop(0);
        server = null;
        WebhookAlerts hook = webhook(down).build();
        Alerts alerts = Alerts.to(hook, Duration.ofHours(26), clock);

        // the pipeline's own failure comes out, not a delivery error
        assertThatThrownBy(() -> failingPipeline(alerts).run()).isInstanceOf(CaptureException.class);
        Manifest ok = BackupPipeline.builder().source(TestSources.bytes(new byte[10]))
                .repository(Repository.filesystem(tmp.resolve("repo"))).noEncryption().listener(alerts).clock(clock).build().run();
        assertThat(ok.plaintextBytes()).isEqualTo(10);

        assertThat(hook.awaitIdle(Duration.ofSeconds(10))).isTrue();
        assertThat(hook.stats()).isEqualTo(new WebhookAlerts.Stats(0, 1, 2, 0, 0, 0));
    }

    @Test
    void receiverThatHangs_doesNotHoldUpTheBackup() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/hook", exchange -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        WebhookAlerts hook = webhook(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook")).build();
        Alerts alerts = Alerts.to(hook, Duration.ofHours(26), clock);
        try {
            assertThatThrownBy(() -> failingPipeline(alerts).run()).isInstanceOf(CaptureException.class);
            // the backup returned while its alert is still in flight
            assertThat(hook.stats().pending()).isEqualTo(1);
        } finally {
            release.countDown();
        }
        assertThat(hook.awaitIdle(Duration.ofSeconds(10))).isTrue();
        assertThat(hook.stats().delivered()).isEqualTo(1);
    }

    @Test
    void sameKindAndSubject_isDeliveredOncePerWindow_andAgainAfterIt() throws Exception {
        WebhookAlerts hook = webhook(receiver()).dedupWindow(Duration.ofHours(1)).build();
        Alerts alerts = Alerts.to(hook, Duration.ofHours(26), clock);

        assertThatThrownBy(() -> failingPipeline(alerts).run()).isInstanceOf(CaptureException.class);
        clock.advance(Duration.ofMinutes(10));
        assertThatThrownBy(() -> failingPipeline(alerts).run()).isInstanceOf(CaptureException.class);
        alerts.keyOperationFailed("erase", "kek-1", new IllegalStateException("denied"));
        clock.advance(Duration.ofMinutes(50));
        assertThatThrownBy(() -> failingPipeline(alerts).run()).isInstanceOf(CaptureException.class);

        assertThat(hook.awaitIdle(Duration.ofSeconds(10))).isTrue();
        assertThat(received).extracting(n -> n.get("kind").asText())
                .containsExactlyInAnyOrder("BACKUP_FAILED", "KEY_OPERATION_FAILED", "BACKUP_FAILED");
        assertThat(hook.stats().suppressed()).isEqualTo(1);
    }

    @Test
    void fullQueue_dropsNewAlerts_countsThem_andLetsTheirRepeatThroughLater() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/hook", exchange -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        WebhookAlerts hook = webhook(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook"))
                .capacity(2).build();
        Alerts alerts = Alerts.to(hook, Duration.ofHours(26), clock);
        try {
            for (String key : List.of("a", "b", "c", "d")) {
                alerts.keyOperationFailed("rewrap", key, new IllegalStateException("denied"));
            }
            assertThat(hook.stats().dropped()).isEqualTo(2);
        } finally {
            release.countDown();
        }
        assertThat(hook.awaitIdle(Duration.ofSeconds(10))).isTrue();
        assertThat(hook.stats().delivered()).isEqualTo(2);

        // a dropped alert never went out, so its repeat is no duplicate
        alerts.keyOperationFailed("rewrap", "c", new IllegalStateException("denied"));
        assertThat(hook.awaitIdle(Duration.ofSeconds(10))).isTrue();
        assertThat(hook.stats()).isEqualTo(new WebhookAlerts.Stats(3, 0, 0, 0, 2, 0));
    }

    @Test
    void builder_rejectsAnUnsupportedScheme_andToStringHidesTheWebhookToken() {
        assertThatThrownBy(() -> WebhookAlerts.builder(URI.create("ftp://x/y")))
                .hasMessage("webhook uri: got scheme ftp, allowed http or https");
        WebhookAlerts hook = WebhookAlerts.builder(URI.create("https://hooks.slack.example/services/T0/B0/secret"))
                .executor(executor).build();
        assertThat(hook.toString()).doesNotContain("secret").contains("hooks.slack.example");
    }
}
