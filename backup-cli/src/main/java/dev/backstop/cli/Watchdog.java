package dev.backstop.cli;

import dev.backstop.core.event.Alerts;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's health checks, on a timer: no verified backup within the allowed age, the WAL
 * archive's RPO above its limit (archiving stopped or falling behind), the WAL receiver stopped by
 * itself, binlog streaming stopped, broken by a gap or behind its RPO limit, a replica behind by
 * more than its limit. Each breach raises one alert through the alert handler, with the runbook
 * of its condition in the message.
 *
 * <p><b>Guarantees.</b> Failure-only and deduplicated by condition: an alert fires when a
 * condition starts to hold and not again while it holds; when it clears, nothing is sent (the
 * log says so at info), and a later breach alerts again. Nothing is checked at start: the first
 * check runs one period later. With no verified backup at all, the allowed age counts from
 * {@link #start()}. A reading that fails (the repository or the archive is unreachable) changes
 * no condition and is logged; the backup's own failure alerts cover an unreachable repository.
 *
 * <p><b>Threading.</b> Checks run on the executor it is given, which it never shuts down; {@link
 * #check()} is synchronized, so a test or a service with its own timer may call it.
 */
final class Watchdog implements Daemon.Companion {
    /** Subject of the staleness alert. */
    static final String NEWEST_VERIFIED = "newest verified backup";
    private static final Logger LOG = LoggerFactory.getLogger(Watchdog.class);

    private final Consumer<Alerts.Alert> alerts;
    private final Clock clock;
    private final ScheduledExecutorService executor;
    private final Duration every;
    private final URI runbooks;
    private final Duration maxVerifiedAge;
    private final Callable<Optional<Instant>> newestVerified;
    private final Duration maxRpo;
    private final String walSubject;
    private final Callable<Duration> rpo;
    private final Duration maxReplicaLag;
    private final Supplier<Map<String, Duration>> replicaLags;
    private final Duration maxBinlogRpo;
    private final String binlogSubject;
    private final Callable<Streaming> binlog;
    private final String receiverSubject;
    private final Callable<Streaming> receiver;
    private final Set<String> holding = new HashSet<>();
    private final AtomicReference<Optional<Duration>> lastRpo = new AtomicReference<>(Optional.empty());
    private volatile Instant since;
    private ScheduledFuture<?> timer;
    private boolean closed;

    private Watchdog(Builder b) {
        this.alerts = b.alerts;
        this.clock = b.clock;
        this.executor = b.executor;
        this.every = b.every;
        this.runbooks = b.runbooks;
        this.maxVerifiedAge = b.maxVerifiedAge;
        this.newestVerified = b.newestVerified;
        this.maxRpo = b.maxRpo;
        this.walSubject = b.walSubject;
        this.rpo = b.rpo;
        this.maxReplicaLag = b.maxReplicaLag;
        this.replicaLags = b.replicaLags;
        this.maxBinlogRpo = b.maxBinlogRpo;
        this.binlogSubject = b.binlogSubject;
        this.binlog = b.binlog;
        this.receiverSubject = b.receiverSubject;
        this.receiver = b.receiver;
        this.since = clock.instant();
    }

    static Builder builder() {
        return new Builder();
    }

    /**
     * One reading of a binlog receiver.
     *
     * @param running whether it runs (false once it stopped on a failure, a gap or another server)
     * @param failure why it stopped, or its last failure; null if none
     * @param gap     the gap it found, as a sentence; null while the archive is continuous
     * @param rpo     how long received binlog may have waited to be archived
     */
    record Streaming(boolean running, String failure, String gap, Duration rpo) {
    }

    /** Schedules the checks, the first one period from now. */
    @Override
    public synchronized void start() {
        if (timer != null || closed) {
            throw new IllegalStateException("watchdog already started or closed");
        }
        since = clock.instant();
        scheduleNext();
    }

    // one task at a time, each scheduling the next: a slow check delays the next instead of piling up
    private synchronized void scheduleNext() {
        if (closed) {
            return;
        }
        timer = executor.schedule(() -> {
            try {
                check();
            } catch (RuntimeException e) {
                // a check that throws must not end the timer
                LOG.warn("health check failed: {}", e.toString());
            } finally {
                scheduleNext();
            }
        }, every.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The WAL archive's RPO as last measured; empty before the first check, after a failed read, or without WAL. */
    Optional<Duration> lastRpo() {
        return lastRpo.get();
    }

    /** Runs every configured check now; returns the alerts it raised. */
    synchronized List<Alerts.Alert> check() {
        List<Alerts.Alert> raised = new ArrayList<>();
        Instant now = clock.instant();
        if (newestVerified != null) {
            try {
                Optional<Instant> newest = newestVerified.call();
                Instant reference = newest.orElse(since);
                boolean stale = Duration.between(reference, now).compareTo(maxVerifiedAge) > 0;
                condition("stale", stale, now, raised, () -> new Alerts.Alert(Alerts.Kind.NO_RECENT_BACKUP, NEWEST_VERIFIED, null,
                        (newest.isEmpty() ? "no backup has been verified since " + since
                                : "the newest verified backup finished " + newest.get())
                                + ", longer ago than the allowed " + maxVerifiedAge + ". Runbook: " + link("runbook-no-recent-backup"), now));
            } catch (Exception e) {
                LOG.warn("could not read the newest verified backup: {}", e.toString());
            }
        }
        if (rpo != null) {
            try {
                Duration r = rpo.call();
                lastRpo.set(Optional.of(r));
                condition("rpo", maxRpo != null && r.compareTo(maxRpo) > 0, now, raised, () -> new Alerts.Alert(Alerts.Kind.WAL_RPO, walSubject,
                        null, walSubject + ": RPO " + r + " is above the allowed " + maxRpo
                        + " (WAL archiving stopped or is falling behind). Runbook: " + link("runbook-wal-rpo"), now));
            } catch (Exception e) {
                lastRpo.set(Optional.empty());
                LOG.warn("could not read the RPO of {}: {}", walSubject, e.toString());
            }
        }
        if (receiver != null) {
            checkReceiver(now, raised);
        }
        if (binlog != null) {
            checkBinlog(now, raised);
        }
        if (replicaLags != null) {
            replicaLags.get().forEach((replica, lag) -> condition("replica " + replica, lag.compareTo(maxReplicaLag) > 0, now, raised,
                    () -> new Alerts.Alert(Alerts.Kind.REPLICA_BEHIND, "replica " + replica, null, "replica " + replica
                            + " is " + lag + " behind the primary, more than the allowed " + maxReplicaLag
                            + ". Runbook: " + link("runbook-replica-behind"), now)));
        }
        return raised;
    }

    // a receiver that stopped by itself cannot come back: alert now rather than when the RPO limit is passed
    private void checkReceiver(Instant now, List<Alerts.Alert> raised) {
        Streaming s;
        try {
            s = receiver.call();
        } catch (Exception e) {
            LOG.warn("could not read the state of {}: {}", receiverSubject, e.toString());
            return;
        }
        condition("wal receiver stopped", !s.running(), now, raised, () -> new Alerts.Alert(Alerts.Kind.WAL_RPO, receiverSubject,
                null, receiverSubject + ": WAL streaming stopped: " + (s.failure() == null ? "(no reason given)" : s.failure())
                + ". Runbook: " + link(Alerts.Kind.WAL_RPO.runbookAnchor()), now));
    }

    private void checkBinlog(Instant now, List<Alerts.Alert> raised) {
        Streaming s;
        try {
            s = binlog.call();
        } catch (Exception e) {
            LOG.warn("could not read the state of {}: {}", binlogSubject, e.toString());
            return;
        }
        String runbook = ". Runbook: " + link(Alerts.Kind.BINLOG_RPO.runbookAnchor());
        condition("binlog stopped", !s.running(), now, raised, () -> new Alerts.Alert(Alerts.Kind.BINLOG_RPO, binlogSubject, null,
                binlogSubject + ": binlog streaming stopped: " + (s.failure() == null ? "(no reason given)" : s.failure()) + runbook,
                now));
        // a gap that stopped the receiver is in the stopped alert's reason already
        condition("binlog gap", s.running() && s.gap() != null, now, raised, () -> new Alerts.Alert(Alerts.Kind.BINLOG_RPO,
                binlogSubject, null, binlogSubject + ": binlog gap: " + s.gap() + runbook, now));
        condition("binlog rpo", s.running() && maxBinlogRpo != null && s.rpo().compareTo(maxBinlogRpo) > 0, now, raised,
                () -> new Alerts.Alert(Alerts.Kind.BINLOG_RPO, binlogSubject, null, binlogSubject + ": RPO " + s.rpo()
                        + " is above the allowed " + maxBinlogRpo + " (binlog streaming cannot reach the server or is falling "
                        + "behind; last failure: " + (s.failure() == null ? "none" : s.failure()) + ")" + runbook, now));
    }

    private void condition(String key, boolean holds, Instant now, List<Alerts.Alert> raised, Supplier<Alerts.Alert> alert) {
        if (holds && holding.add(key)) {
            Alerts.Alert a = alert.get();
            raised.add(a);
            LOG.warn("alert {}: {}", a.subject(), a.message());
            alerts.accept(a);
        } else if (!holds && holding.remove(key)) {
            LOG.info("resolved at {}: {}", now, key);
        }
    }

    private String link(String anchor) {
        return runbooks + "#" + anchor;
    }

    /** Cancels future checks; a running one goes on. */
    @Override
    public synchronized void close() {
        closed = true;
        if (timer != null) {
            timer.cancel(false);
        }
    }

    /** Builder for {@link Watchdog}; the handler and the executor are required, each check is optional. */
    static final class Builder {
        private Consumer<Alerts.Alert> alerts;
        private Clock clock = Clock.systemUTC();
        private ScheduledExecutorService executor;
        private Duration every = Duration.ofMinutes(5);
        private URI runbooks = dev.backstop.core.event.WebhookAlerts.DEFAULT_RUNBOOKS;
        private Duration maxVerifiedAge;
        private Callable<Optional<Instant>> newestVerified;
        private Duration maxRpo;
        private String walSubject;
        private Callable<Duration> rpo;
        private Duration maxReplicaLag;
        private Supplier<Map<String, Duration>> replicaLags;
        private Duration maxBinlogRpo;
        private String binlogSubject;
        private Callable<Streaming> binlog;
        private String receiverSubject;
        private Callable<Streaming> receiver;

        private Builder() {
        }

        /** Where alerts go, e.g. a {@link dev.backstop.core.event.WebhookAlerts}. */
        Builder alerts(Consumer<Alerts.Alert> handler) {
            this.alerts = Objects.requireNonNull(handler, "handler");
            return this;
        }

        Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Where the checks run; never shut down by the watchdog. */
        Builder executor(ScheduledExecutorService executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /** The period of the checks (positive). */
        Builder every(Duration period) {
            if (period.isNegative() || period.isZero()) {
                throw new IllegalArgumentException("every: got " + period + ", must be positive");
            }
            this.every = period;
            return this;
        }

        /** The page the runbook links point into (its anchors are those of docs/operations.md). */
        Builder runbooks(URI page) {
            this.runbooks = Objects.requireNonNull(page, "page");
            return this;
        }

        /** Alerts when the newest verified backup ({@code newest} reads it) is older than {@code max}. */
        Builder maxVerifiedAge(Duration max, Callable<Optional<Instant>> newest) {
            this.maxVerifiedAge = positive("maxVerifiedAge", max);
            this.newestVerified = Objects.requireNonNull(newest, "newest");
            return this;
        }

        /**
         * Measures the RPO of the WAL archive named {@code subject} with {@code rpo} on each check
         * ({@link Watchdog#lastRpo()}), and alerts when it is above {@code max} if one is given.
         */
        Builder walRpo(Optional<Duration> max, String subject, Callable<Duration> rpo) {
            this.maxRpo = max.map(d -> positive("maxRpo", d)).orElse(null);
            this.walSubject = Objects.requireNonNull(subject, "subject");
            this.rpo = Objects.requireNonNull(rpo, "rpo");
            return this;
        }

        /**
         * Reads the binlog receiver named {@code subject} with {@code reading} on each check, and
         * alerts once when it stopped, once when it found a gap (while it goes on), and once when
         * its RPO is above {@code max} if one is given.
         */
        Builder binlog(Optional<Duration> max, String subject, Callable<Streaming> reading) {
            this.maxBinlogRpo = max.map(d -> positive("maxRpo", d)).orElse(null);
            this.binlogSubject = Objects.requireNonNull(subject, "subject");
            this.binlog = Objects.requireNonNull(reading, "reading");
            return this;
        }

        /**
         * Reads the WAL receiver named {@code subject} with {@code reading} on each check and
         * alerts once when it stopped by itself (its lag is the WAL archive's RPO, which {@link
         * #walRpo} checks).
         */
        Builder walReceiver(String subject, Callable<Streaming> reading) {
            this.receiverSubject = Objects.requireNonNull(subject, "subject");
            this.receiver = Objects.requireNonNull(reading, "reading");
            return this;
        }

        /** Alerts when a replica is more than {@code max} behind; {@code lags} measures each (a replica it leaves out is unknown). */
        Builder maxReplicaLag(Duration max, Supplier<Map<String, Duration>> lags) {
            this.maxReplicaLag = positive("maxReplicaLag", max);
            this.replicaLags = Objects.requireNonNull(lags, "lags");
            return this;
        }

        private static Duration positive(String name, Duration d) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + ": got " + d + ", must be positive");
            }
            return d;
        }

        Watchdog build() {
            if (alerts == null) {
                throw new IllegalStateException("alerts(handler) is required");
            }
            if (executor == null) {
                throw new IllegalStateException("executor is required");
            }
            return new Watchdog(this);
        }
    }
}
