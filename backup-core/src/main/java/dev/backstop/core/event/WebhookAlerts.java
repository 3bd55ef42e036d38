package dev.backstop.core.event;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.internal.builder.Settings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Delivers {@link Alerts.Alert}s to an HTTP webhook: a generic JSON document or a Slack-compatible
 * {@code {"text": ...}} message, each with a link to the alert kind's runbook. Give it to {@link
 * Alerts#to}.
 *
 * <p><b>Guarantees.</b> {@link #accept} never blocks and never throws for delivery reasons: it
 * queues the alert and returns, so a webhook that is down, slow or failing can neither fail nor
 * slow a backup. A delivery that gets no 2xx answer is retried with exponential back-off up to
 * the configured attempts, then counted as {@linkplain Stats#failed() failed}. The same kind and
 * subject are delivered at most once per dedup window (later ones are counted as {@linkplain
 * Stats#suppressed() suppressed}); when the queue holds its capacity of undelivered alerts, new
 * ones are {@linkplain Stats#dropped() dropped}.
 *
 * <p><b>Restrictions.</b> Delivery is at most once per attempt chain and lost on process exit;
 * alerts are a pager, not a record (the repository and the audit log are the record).
 *
 * <p><b>Threading.</b> Thread-safe. Retries run on the executor it is given, which it never shuts
 * down; HTTP I/O is asynchronous on the {@link HttpClient}.
 *
 * <p><b>Sample.</b>
 * <pre>{@code
 * WebhookAlerts slack = WebhookAlerts.builder(URI.create(System.getenv("SLACK_WEBHOOK")))
 *         .format(WebhookAlerts.Format.SLACK).executor(executor).build();
 * Alerts alerts = Alerts.to(slack, Duration.ofHours(26), Clock.systemUTC());
 * }</pre>
 */
public final class WebhookAlerts implements Consumer<Alerts.Alert> {
    /** The default base of runbook links: docs/operations.md of the project. */
    public static final URI DEFAULT_RUNBOOKS =
            URI.create("https://github.com/backstop-dev/backstop/blob/main/docs/operations.md");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_REMEMBERED = 1000;

    /** The payload shape. */
    public enum Format {
        /** {@code {"kind", "subject", "backupId", "message", "at", "runbook"}}. */
        JSON,
        /** {@code {"text": "..."}}, which Slack, Mattermost and Rocket.Chat incoming webhooks take. */
        SLACK
    }

    /** Delivery counters since creation. */
    public record Stats(long delivered, long failed, long retried, long suppressed, long dropped, int pending) {
    }

    private final URI uri;
    private final Format format;
    private final HttpClient client;
    private final ScheduledExecutorService executor;
    private final Clock clock;
    private final int maxAttempts;
    private final Duration initialBackoff;
    private final Duration dedupWindow;
    private final Duration requestTimeout;
    private final int capacity;
    private final URI runbooks;
    private final Map<String, Instant> lastSent = new ConcurrentHashMap<>();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong retried = new AtomicLong();
    private final AtomicLong suppressed = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final Object idle = new Object();

    private WebhookAlerts(Builder b) {
        this.uri = b.uri;
        this.format = b.format;
        this.client = b.client != null ? b.client : HttpClient.newBuilder().connectTimeout(b.requestTimeout).build();
        this.executor = b.executor;
        this.clock = b.clock;
        this.maxAttempts = b.maxAttempts;
        this.initialBackoff = b.initialBackoff;
        this.dedupWindow = b.dedupWindow;
        this.requestTimeout = b.requestTimeout;
        this.capacity = b.capacity;
        this.runbooks = b.runbooks;
    }

    /** A builder posting to {@code uri} (http or https). */
    public static Builder builder(URI uri) {
        return new Builder(uri);
    }

    /** Queues {@code alert} for delivery and returns at once. */
    @Override
    public void accept(Alerts.Alert alert) {
        Objects.requireNonNull(alert, "alert");
        Instant now = clock.instant();
        String key = alert.kind() + "\u0000" + alert.subject();
        boolean[] fresh = {false};
        lastSent.compute(key, (k, last) -> {
            if (last == null || !now.isBefore(last.plus(dedupWindow))) {
                fresh[0] = true;
                return now;
            }
            return last;
        });
        if (!fresh[0]) {
            suppressed.incrementAndGet();
            return;
        }
        if (lastSent.size() > MAX_REMEMBERED) {
            // subjects name backups, so the map would grow forever: forget what the window no longer covers
            lastSent.values().removeIf(t -> !now.isBefore(t.plus(dedupWindow)));
        }
        if (pending.incrementAndGet() > capacity) {
            done();
            dropped.incrementAndGet();
            // nothing went out: a repeat after the queue drained is not a duplicate
            lastSent.remove(key, now);
            return;
        }
        byte[] body = payload(alert);
        schedule(body, 1, Duration.ZERO);
    }

    /** The link to {@code kind}'s runbook. */
    public URI runbook(Alerts.Kind kind) {
        return URI.create(runbooks + "#" + kind.runbookAnchor());
    }

    /** The counters now. */
    public Stats stats() {
        return new Stats(delivered.get(), failed.get(), retried.get(), suppressed.get(), dropped.get(), pending.get());
    }

    /**
     * Waits until every queued alert was delivered or given up, for at most {@code timeout}; for a
     * service draining before it exits.
     *
     * @return whether nothing is pending
     */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (idle) {
            while (pending.get() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(idle, left);
            }
            return true;
        }
    }

    byte[] payload(Alerts.Alert alert) {
        ObjectNode n = JSON.createObjectNode();
        String link = runbook(alert.kind()).toString();
        if (format == Format.SLACK) {
            n.put("text", ":rotating_light: Backstop " + alert.kind() + " (" + slackEscaped(alert.subject()) + "): "
                    + slackEscaped(alert.message()) + "\nRunbook: <" + link + ">");
        } else {
            n.put("kind", alert.kind().name());
            n.put("subject", alert.subject());
            if (alert.backupId() != null) {
                n.put("backupId", alert.backupId().value());
            }
            n.put("message", alert.message());
            n.put("at", alert.at().toString());
            n.put("runbook", link);
        }
        try {
            return JSON.writeValueAsBytes(n);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("could not encode an alert", e);
        }
    }

    /** Slack reads {@code &}, {@code <} and {@code >} as markup: a message quoting stderr must not link or mention. */
    private static String slackEscaped(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private void schedule(byte[] body, int attempt, Duration delay) {
        try {
            executor.schedule(() -> send(body, attempt), delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // the service is shutting down: the alert is lost, which the counter says
            failed.incrementAndGet();
            done();
        }
    }

    private void send(byte[] body, int attempt) {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(requestTimeout)
                .header("Content-Type", "application/json").header("User-Agent", "backstop-alerts")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try {
            client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, error) -> {
                if (error == null && response.statusCode() / 100 == 2) {
                    delivered.incrementAndGet();
                    done();
                } else {
                    retryOrGiveUp(body, attempt);
                }
            });
        } catch (RuntimeException e) {
            retryOrGiveUp(body, attempt);
        }
    }

    private void retryOrGiveUp(byte[] body, int attempt) {
        if (attempt >= maxAttempts) {
            failed.incrementAndGet();
            done();
            return;
        }
        retried.incrementAndGet();
        schedule(body, attempt + 1, initialBackoff.multipliedBy(1L << Math.min(attempt - 1, 16)));
    }

    private void done() {
        if (pending.decrementAndGet() <= 0) {
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    @Override
    public String toString() {
        // the URI of a chat webhook is a secret: its path is the token
        return "WebhookAlerts[" + uri.getScheme() + "://" + uri.getHost() + ", " + format + "]";
    }

    /** Builder for {@link WebhookAlerts}; the executor is required. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final URI uri;
        private Format format = Format.JSON;
        private HttpClient client;
        private ScheduledExecutorService executor;
        private Clock clock = Clock.systemUTC();
        private int maxAttempts = 5;
        private Duration initialBackoff = Duration.ofSeconds(2);
        private Duration dedupWindow = Duration.ofHours(1);
        private Duration requestTimeout = Duration.ofSeconds(10);
        private int capacity = 100;
        private URI runbooks = DEFAULT_RUNBOOKS;

        private Builder(URI uri) {
            Objects.requireNonNull(uri, "uri");
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
                throw new IllegalArgumentException("webhook uri: got scheme " + uri.getScheme() + ", allowed http or https");
            }
            this.uri = uri;
        }

        /** The payload shape; default {@link Format#JSON}. */
        public Builder format(Format format) {
            this.format = given.once("format", this.format, format);
            return this;
        }

        /** The HTTP client (proxy, TLS); default a new one with the request timeout as connect timeout. */
        public Builder httpClient(HttpClient client) {
            this.client = given.once("httpClient", this.client, client);
            return this;
        }

        /** Runs deliveries and retries; never shut down by the webhook. */
        public Builder executor(ScheduledExecutorService executor) {
            this.executor = given.once("executor", this.executor, executor);
            return this;
        }

        /** The clock of the dedup window. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /** Attempts per alert (1..20, default 5) and the first back-off, doubled each time (default 2 s). */
        public Builder retries(int maxAttempts, Duration initialBackoff) {
            if (maxAttempts < 1 || maxAttempts > 20) {
                throw new IllegalArgumentException("webhook maxAttempts: got " + maxAttempts + ", allowed 1..20");
            }
            if (initialBackoff.isNegative()) {
                throw new IllegalArgumentException("webhook initialBackoff: got " + initialBackoff + ", must be >= 0");
            }
            given.once("retries", this.maxAttempts + " attempts from " + this.initialBackoff,
                    maxAttempts + " attempts from " + initialBackoff);
            this.maxAttempts = maxAttempts;
            this.initialBackoff = initialBackoff;
            return this;
        }

        /** One alert per kind and subject within this window (default 1 h; zero turns dedup off). */
        public Builder dedupWindow(Duration window) {
            if (window.isNegative()) {
                throw new IllegalArgumentException("webhook dedupWindow: got " + window + ", must be >= 0");
            }
            given.onceNullable("dedupWindow", this.dedupWindow, window);
            this.dedupWindow = window;
            return this;
        }

        /** The timeout of one request (default 10 s). */
        public Builder requestTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("webhook requestTimeout: got " + timeout + ", must be positive");
            }
            given.onceNullable("requestTimeout", this.requestTimeout, timeout);
            this.requestTimeout = timeout;
            return this;
        }

        /** Undelivered alerts held at most (1..10000, default 100); beyond, new ones are dropped. */
        public Builder capacity(int capacity) {
            if (capacity < 1 || capacity > 10_000) {
                throw new IllegalArgumentException("webhook capacity: got " + capacity + ", allowed 1..10000");
            }
            given.onceNullable("capacity", this.capacity, capacity);
            this.capacity = capacity;
            return this;
        }

        /** The page runbook links point into, anchors appended; default {@link #DEFAULT_RUNBOOKS}. */
        public Builder runbooks(URI page) {
            this.runbooks = given.once("runbooks", this.runbooks, page);
            return this;
        }

        public WebhookAlerts build() {
            if (executor == null) {
                throw new IllegalStateException("webhook: executor is required (a ScheduledExecutorService for retries)");
            }
            return new WebhookAlerts(this);
        }
    }
}
