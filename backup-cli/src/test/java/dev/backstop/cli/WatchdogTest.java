package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.backstop.core.event.WebhookAlerts;
import dev.backstop.testkit.ManualExecutor;
import dev.backstop.testkit.MutableClock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The daemon's timed health checks, delivered by webhook to a real HTTP receiver. */
class WatchdogTest {
    static final Instant START = Instant.parse("2026-12-07T00:00:00Z");
    static final Duration EVERY = Duration.ofMinutes(5);

    final MutableClock clock = new MutableClock(START);
    final ManualExecutor timer = new ManualExecutor(clock);
    final ScheduledExecutorService delivery = Executors.newSingleThreadScheduledExecutor();
    final ConcurrentLinkedQueue<JsonNode> received = new ConcurrentLinkedQueue<>();
    HttpServer server;
    WebhookAlerts webhook;

    @BeforeEach
    void setUp() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/hook", ex -> {
            received.add(new ObjectMapper().readTree(ex.getRequestBody().readAllBytes()));
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        server.start();
        // dedup by simulated time and short: what the watchdog sends is what arrives
        webhook = WebhookAlerts.builder(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook"))
                .executor(delivery).clock(clock).dedupWindow(Duration.ofSeconds(1)).build();
    }

    @AfterEach
    void tearDown() {
        server.stop(0);
        delivery.shutdownNow();
    }

    Watchdog.Builder watchdog() {
        return Watchdog.builder().alerts(webhook).clock(clock).executor(timer).every(EVERY);
    }

    List<JsonNode> delivered() throws InterruptedException {
        assertThat(webhook.awaitIdle(Duration.ofSeconds(30))).as("webhook drained").isTrue();
        List<JsonNode> out = new ArrayList<>(received);
        received.clear();
        return out;
    }

    @Test
    void noVerifiedBackupWithinTheAllowedAge_alertsExactlyOnce_whileItHolds() throws Exception {
        Instant verified = START.minus(Duration.ofHours(20));
        Watchdog w = watchdog().maxVerifiedAge(Duration.ofDays(1), () -> Optional.of(verified)).build();
        w.start();

        assertThat(timer.advance(clock, EVERY)).isEqualTo(1);
        assertThat(delivered()).as("fresh for four more hours").isEmpty();
        timer.advance(clock, Duration.ofHours(4));
        assertThat(timer.advance(clock, EVERY)).isEqualTo(1);

        List<JsonNode> alerts = delivered();
        assertThat(alerts).hasSize(1);
        assertThat(alerts.get(0).get("kind").asText()).isEqualTo("NO_RECENT_BACKUP");
        assertThat(alerts.get(0).get("subject").asText()).isEqualTo("newest verified backup");
        assertThat(alerts.get(0).get("message").asText()).contains(verified.toString(), "PT24H",
                "operations.md#runbook-no-recent-backup");
        for (int i = 0; i < 12; i++) {
            timer.advance(clock, EVERY);
        }
        assertThat(delivered()).as("no repeat while it holds").isEmpty();
    }

    @Test
    void aFreshVerifiedBackup_raisesNothing_andNothingIsCheckedBeforeTheFirstInterval() throws Exception {
        AtomicReference<Integer> reads = new AtomicReference<>(0);
        Watchdog w = watchdog().maxVerifiedAge(Duration.ofHours(1), () -> {
            reads.set(reads.get() + 1);
            return Optional.of(clock.instant().minus(Duration.ofMinutes(10)));
        }).build();
        w.start();

        assertThat(timer.runDue()).as("nothing runs at start").isZero();
        assertThat(timer.nextDueIn()).contains(EVERY);
        for (int i = 0; i < 48; i++) {
            timer.advance(clock, EVERY);
        }

        assertThat(reads.get()).isEqualTo(48);
        assertThat(delivered()).isEmpty();
    }

    @Test
    void noVerifiedBackupAtAll_countsFromStart_soAStartRaisesNothing() throws Exception {
        Watchdog w = watchdog().maxVerifiedAge(Duration.ofHours(1), Optional::empty).build();
        w.start();

        timer.advance(clock, EVERY);
        assertThat(delivered()).isEmpty();
        timer.advance(clock, Duration.ofHours(1));

        assertThat(delivered()).extracting(n -> n.get("message").asText())
                .singleElement().asString().startsWith("no backup has been verified since " + START);
    }

    @Test
    void anRpoAboveTheLimit_alertsOnce_andAgainOnlyAfterItRecoveredAndBrokeAgain() throws Exception {
        AtomicReference<Duration> rpo = new AtomicReference<>(Duration.ofSeconds(3));
        Watchdog w = watchdog().walRpo(Optional.of(Duration.ofMinutes(15)), "WAL archive of system 42", rpo::get).build();
        w.start();

        timer.advance(clock, EVERY);
        assertThat(w.lastRpo()).contains(Duration.ofSeconds(3));
        assertThat(delivered()).isEmpty();
        rpo.set(Duration.ofMinutes(40));
        timer.advance(clock, EVERY);
        timer.advance(clock, EVERY);

        List<JsonNode> alerts = delivered();
        assertThat(alerts).hasSize(1);
        assertThat(alerts.get(0).get("subject").asText()).isEqualTo("WAL archive of system 42");
        assertThat(alerts.get(0).get("kind").asText()).isEqualTo("WAL_RPO");
        assertThat(alerts.get(0).get("message").asText()).contains("RPO PT40M", "PT15M", "#runbook-wal-rpo");
        assertThat(w.lastRpo()).contains(Duration.ofMinutes(40));

        rpo.set(Duration.ZERO);
        timer.advance(clock, EVERY);
        assertThat(delivered()).as("a recovery sends nothing").isEmpty();
        rpo.set(Duration.ofHours(1));
        timer.advance(clock, EVERY);
        assertThat(delivered()).as("a new breach").hasSize(1);
    }

    @Test
    void anRpoThatCannotBeRead_isUnknown_notABreach() throws Exception {
        Watchdog w = watchdog().walRpo(Optional.of(Duration.ofMinutes(15)), "WAL archive of system 42", () -> {
            throw new java.io.IOException("archive unreachable");
        }).build();
        w.start();

        timer.advance(clock, EVERY);

        assertThat(w.lastRpo()).isEmpty();
        assertThat(delivered()).isEmpty();
    }

    @Test
    void aReplicaBehindByMoreThanTheLimit_alertsOnceForThatReplica() throws Exception {
        AtomicReference<Map<String, Duration>> lags = new AtomicReference<>(Map.of("dr", Duration.ZERO, "eu", Duration.ZERO));
        Watchdog w = watchdog().maxReplicaLag(Duration.ofHours(2), lags::get).build();
        w.start();

        timer.advance(clock, EVERY);
        assertThat(delivered()).isEmpty();
        lags.set(Map.of("dr", Duration.ofHours(3), "eu", Duration.ofMinutes(30)));
        timer.advance(clock, EVERY);
        timer.advance(clock, EVERY);

        List<JsonNode> alerts = delivered();
        assertThat(alerts).hasSize(1);
        assertThat(alerts.get(0).get("subject").asText()).isEqualTo("replica dr");
        assertThat(alerts.get(0).get("kind").asText()).isEqualTo("REPLICA_BEHIND");
        assertThat(alerts.get(0).get("message").asText()).contains("PT3H", "PT2H", "#runbook-replica-behind");
    }

    @Test
    void binlogStreamingThatStops_alertsOnceWithItsReason_andItsRunbook() throws Exception {
        AtomicReference<Watchdog.Streaming> state = new AtomicReference<>(new Watchdog.Streaming(true, null, null, Duration.ZERO));
        Watchdog w = watchdog().binlog(Optional.empty(), "binlog stream server-1", state::get).build();
        w.start();

        timer.advance(clock, EVERY);
        assertThat(delivered()).isEmpty();
        state.set(new Watchdog.Streaming(false, "binlog gap: binlog.000004 is no longer on the server", "binlog.000004 ...",
                Duration.ofMinutes(1)));
        timer.advance(clock, EVERY);
        timer.advance(clock, EVERY);

        List<JsonNode> alerts = delivered();
        assertThat(alerts).hasSize(1);
        assertThat(alerts.get(0).get("kind").asText()).isEqualTo("BINLOG_RPO");
        assertThat(alerts.get(0).get("subject").asText()).isEqualTo("binlog stream server-1");
        assertThat(alerts.get(0).get("message").asText()).contains("binlog streaming stopped: binlog gap: binlog.000004",
                "#runbook-binlog-rpo");
        assertThat(alerts.get(0).get("runbook").asText()).endsWith("#runbook-binlog-rpo");
    }

    @Test
    void aWalReceiverThatStopsByItself_alertsOnceWithItsReason_beforeTheRpoLimitIsReached() throws Exception {
        AtomicReference<Watchdog.Streaming> state = new AtomicReference<>(new Watchdog.Streaming(true, null, null, Duration.ZERO));
        Watchdog w = watchdog().walRpo(Optional.of(Duration.ofHours(1)), "WAL archive of system 42", () -> Duration.ofMinutes(6))
                .walReceiver("wal receive wal/42 over slot backstop", state::get).build();
        w.start();

        timer.advance(clock, EVERY);
        assertThat(delivered()).isEmpty();
        state.set(new Watchdog.Streaming(false, "server of system 43, not 42", null, Duration.ZERO));
        timer.advance(clock, EVERY);
        timer.advance(clock, EVERY);

        List<JsonNode> alerts = delivered();
        assertThat(alerts).hasSize(1);
        assertThat(alerts.get(0).get("kind").asText()).isEqualTo("WAL_RPO");
        assertThat(alerts.get(0).get("subject").asText()).isEqualTo("wal receive wal/42 over slot backstop");
        assertThat(alerts.get(0).get("message").asText()).contains("WAL streaming stopped: server of system 43, not 42",
                "#runbook-wal-rpo");
    }

    @Test
    void binlogRpoAboveTheLimit_alertsOnce_andAGapTheReceiverWentPast_alertsOnceOfItsOwn() throws Exception {
        AtomicReference<Watchdog.Streaming> state = new AtomicReference<>(new Watchdog.Streaming(true, null, null, Duration.ZERO));
        Watchdog w = watchdog().binlog(Optional.of(Duration.ofMinutes(15)), "binlog stream server-1", state::get).build();
        w.start();

        state.set(new Watchdog.Streaming(true, "mariadb-binlog exited with status 1", null, Duration.ofMinutes(20)));
        timer.advance(clock, EVERY);
        timer.advance(clock, EVERY);
        List<JsonNode> rpo = delivered();
        assertThat(rpo).extracting(n -> n.get("message").asText()).singleElement().asString()
                .contains("RPO PT20M is above the allowed PT15M", "mariadb-binlog exited with status 1");

        state.set(new Watchdog.Streaming(true, null, "binlog.000004 is no longer on the server", Duration.ZERO));
        timer.advance(clock, EVERY);
        timer.advance(clock, EVERY);
        assertThat(delivered()).extracting(n -> n.get("message").asText()).singleElement().asString()
                .contains("binlog gap: binlog.000004 is no longer on the server");
    }

    @Test
    void close_cancelsTheTimer() throws Exception {
        Watchdog w = watchdog().maxVerifiedAge(Duration.ofMinutes(1), Optional::empty).build();
        w.start();

        w.close();

        assertThat(timer.advance(clock, Duration.ofHours(1))).isZero();
        assertThat(delivered()).isEmpty();
    }
}
