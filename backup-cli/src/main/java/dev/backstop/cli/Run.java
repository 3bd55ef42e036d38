package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.event.Alerts;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.schedule.BackupScheduler;
import dev.backstop.core.replication.Replication;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.event.WebhookAlerts;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import dev.backstop.micrometer.MicrometerListener;
import dev.backstop.micrometer.PrometheusEndpoint;
import dev.backstop.micrometer.RepositoryHealth;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalSpool;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code backstop run}: the daemon. */
@Command(name = "run", description = "Run as a daemon: backups on backup.schedule, or full, diff and incr backups on "
        + "backup.schedules (each followed by expiry when retention.deleteExpired is true) and drills on validation.schedule, one runner per tick across replicas "
        + "sharing the repository; streams the MariaDB/MySQL binlog when backup.binlog is set (one daemon at a time: the "
        + "others stand by and take over when it stops) and PostgreSQL's WAL when backup.wal.receive is set (likewise); "
        + "serves /metrics for Prometheus when observability.prometheus.port is set. "
        + "SIGTERM stops scheduling and aborts a running backup (nothing is published).")
final class Run extends Commands.Base {
    /** How long SIGTERM waits for a running job to abort before the process ends anyway. */
    static final Duration STOP_BOUND = Duration.ofSeconds(20);
    private static final Logger LOG = LoggerFactory.getLogger(Run.class);

    @Option(names = "--threads", defaultValue = "1", description = "Jobs that may run at once (default ${DEFAULT-VALUE}: "
            + "a drill waits for a backup).")
    int threads;

    @Option(names = "--backup-now", description = "Also run a backup at start, leased by the start time to the second "
            + "(for a first deployment; replicas started together may each take one).")
    boolean backupNow;

    @Override
    int run(Context ctx) throws InterruptedException {
        // with one schedule per level, --backup-now runs the full backup's job
        String backupJob = ctx.config().schedule().isEmpty() && !ctx.config().capture().schedules().isEmpty() ? "backup-full" : "backup";
        if (backupNow && ctx.config().schedule().isEmpty() && ctx.config().capture().schedules().isEmpty()) {
            throw new ConfigException("backup.schedule", "missing; --backup-now runs the backup job, which needs it");
        }
        ScheduledExecutorService executor = Executors.newScheduledThreadPool(Math.max(1, threads));
        // alerts are delivered beside the jobs, not queued behind a long drill
        ScheduledExecutorService alerts = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("backstop-alerts"));
        AtomicBoolean stopping = new AtomicBoolean();
        Daemon daemon;
        PrometheusEndpoint endpoint = null;
        try {
            Optional<BackstopConfig.Prometheus> prometheus = ctx.config().observability().prometheus();
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            daemon = daemon(ctx, executor, alerts, Clock.systemUTC(), stopping::get, registry);
            if (prometheus.isPresent()) {
                endpoint = metricsEndpoint(prometheus.get(), registry);
                say(ctx, "run: metrics at " + endpoint.uri());
            }
        } catch (RuntimeException e) {
            executor.shutdownNow();
            alerts.shutdownNow();
            throw e;
        }
        PrometheusEndpoint metrics = endpoint;
        StopSignal signal = StopSignal.install("backstop-shutdown", () -> {
            // stop scheduling, interrupt the running job (the pipeline aborts what it has not
            // published), and wait for it within a bound: the manifest is the last object written,
            // so even a job cut off by the bound leaves no backup visible
            stopping.set(true);
            daemon.close();
            executor.shutdownNow();
            try {
                if (!executor.awaitTermination(STOP_BOUND.toMillis(), TimeUnit.MILLISECONDS)) {
                    say(ctx, "run: a job did not stop within " + STOP_BOUND.toSeconds() + " s; exiting anyway");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (metrics != null) {
                metrics.close();
            }
            say(ctx, "run: stopped");
            root.err.flush();
        });
        if (backupNow) {
            // queued before the schedules' first ticks: a tick due at start (an incr every few
            // seconds, a catch-up) would otherwise run first and find no backup to build on
            executor.execute(() -> daemon.runTick(backupJob, Instant.now().truncatedTo(ChronoUnit.SECONDS)));
        }
        daemon.start();
        daemon.jobs().values().forEach(j -> say(ctx, "run: " + j.name() + " on \"" + j.schedule() + "\""));
        root.err.flush();
        signal.awaitStop();
        return Backstop.OK;
    }

    /** A line of the daemon's own: a log event when the log is JSON lines (so that every line parses), else plain text. */
    private void say(Context ctx, String line) {
        BackstopConfig.LogFormat format = logFormat != null ? logFormat : ctx.config().observability().logFormat();
        if (format == BackstopConfig.LogFormat.JSON) {
            LOG.info(line);
        } else {
            root.err.println(line);
        }
    }

    /** Serves {@code registry} where the configuration says; a port in use is a configuration error. */
    static PrometheusEndpoint metricsEndpoint(BackstopConfig.Prometheus p, PrometheusMeterRegistry registry) {
        try {
            return PrometheusEndpoint.start(registry, new InetSocketAddress(p.bind(), p.port()));
        } catch (IOException e) {
            throw new ConfigException("backup.observability.prometheus", e.getMessage());
        }
    }

    /**
     * The daemon the configuration describes, not yet started; its jobs' metrics go to {@code
     * registry} (tagged with the repository), and each job runs under its own MDC scope.
     */
    static Daemon daemon(Context ctx, ScheduledExecutorService executor, ScheduledExecutorService alerts, Clock clock,
                         BooleanSupplier stopping, MeterRegistry registry) {
        return daemon(ctx, executor, alerts, alerts, clock, stopping, registry);
    }

    /**
     * The daemon the configuration describes, with its health checks ({@code
     * observability.alerts}: maxVerifiedAge, maxRpo, maxReplicaLag) timed on {@code checks}: a
     * scheduler of their own in production, so that a long job cannot hold them up.
     */
    static Daemon daemon(Context ctx, ScheduledExecutorService executor, ScheduledExecutorService alerts,
                         ScheduledExecutorService checks, Clock clock, BooleanSupplier stopping, MeterRegistry registry) {
        BackstopConfig c = ctx.config();
        Optional<WebhookAlerts> webhook = c.observability().webhook()
                .map(w -> WebhookAlerts.builder(URI.create(w.reveal())).executor(alerts).clock(clock).build());
        Optional<BinlogStreaming> binlog = c.binlog().map(b -> BinlogStreaming.of(ctx, clock));
        Optional<WalStreaming> walReceive = WalStreaming.of(ctx, clock);
        Optional<Watchdog> watchdog = watchdog(ctx, webhook, checks, clock, stopping, binlog, walReceive);
        MicrometerListener.Builder mb = MicrometerListener.builder().repository(ctx.keyedRepository()).clock(clock)
                .tags(Tags.of("repository", Logging.repository(c)));
        if (c.wal().flatMap(BackstopConfig.Wal::systemId).isPresent()) {
            watchdog.ifPresent(w -> mb.walRpo(w::lastRpo));
        }
        binlog.ifPresent(s -> mb.binlog(s::status));
        MicrometerListener metrics = mb.build();
        metrics.bindTo(registry);
        BackupListener listener = listener(webhook, clock, stopping).plus(metrics);
        // the pipeline and restores tell the log and the audit log through Context already;
        // expiry and the drill's verdict are told here
        BackupListener logged = listener.plus(ctx.observers());
        Daemon.Builder d = Daemon.builder().leases(ctx.repository().sink()).executor(executor).clock(clock)
                .holder(Context.holder() + "-pid" + ProcessHandle.current().pid());
        // the receiver starts before the checks that read it; one daemon streams at a time, the others stand by
        binlog.ifPresent(s -> d.companion(new LeasedCompanion(s.subject(), BinlogStreaming.lock(ctx, c.binlog().get(), clock), s,
                Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("backstop-binlog-lease")), clock)));
        walReceive.ifPresent(s -> d.companion(new LeasedCompanion(s.subject(), s.lock(), s,
                Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("backstop-wal-lease")), clock)));
        watchdog.ifPresent(d::companion);
        Optional<RetentionPolicy> policy = c.storage().retention().flatMap(r -> r.policy(c.zone()));
        BackstopConfig.Timing bt = c.backupTiming();
        c.schedule().ifPresent(s -> d.job(job("backup", s, bt, () -> backupJob(ctx, c, s, ctx.pipeline(listener), alerts, clock, policy,
                logged))));
        // one job per level: a full backup starts each chain, diff and incr build on it (see DataDirectorySource)
        c.capture().schedules().forEach((level, s) -> d.job(job("backup-" + level.label(), s, bt, () -> backupJob(ctx, c, s,
                ctx.pipeline(listener, Engines.physicalSource(ctx, level)), alerts, clock, policy, logged))));
        c.validation().schedule().filter(s -> c.validation().enabled()).ifPresent(s -> d.job(job("drill", s, c.validation().timing(), () -> {
            Logging.Scope job = Logging.job("drill", c);
            try {
                Restore restore = ctx.restore();
                ValidationResult r;
                try {
                    Drills.Plan plan = Drills.newest(ctx, restore, c.validation().kind(), c.validation().restorePoint(), clock);
                    r = plan.validator().validate(plan.manifest(), restore);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                logged.validated(r);
            } finally {
                job.close();
            }
        })));
        if (c.schedule().isEmpty() && c.capture().schedules().isEmpty()
                && (c.validation().schedule().isEmpty() || !c.validation().enabled()) && binlog.isEmpty() && walReceive.isEmpty()) {
            throw new ConfigException("backup.schedule", "missing; backstop run needs backup.schedule (or backup.schedules) or "
                    + "validation.schedule (a cron expression like \"0 2 * * *\"), or backup.binlog or backup.wal.receive to stream");
        }
        return d.build();
    }

    private static Daemon.Job job(String name, dev.backstop.core.schedule.Schedule s, BackstopConfig.Timing t, Runnable action) {
        return new Daemon.Job(name, s, action, t.jitter(), t.missedRuns());
    }

    /**
     * One scheduled backup through {@code pipeline} (retryable failures tried again, only the last
     * one alerting), then expiry when retention deletes.
     */
    private static void backupJob(Context ctx, BackstopConfig c, dev.backstop.core.schedule.Schedule s,
                                  dev.backstop.core.BackupPipeline pipeline, ScheduledExecutorService alerts, Clock clock,
                                  Optional<RetentionPolicy> policy, BackupListener logged) {
        Logging.Scope job = Logging.job("backup", c);
        try {
            // retryable failures are tried again here; only the last one is backupFailed (and alerts).
            // Retries run on the alert thread: this job holds a jobs thread while it waits for
            // them, and with one jobs thread a retry queued there would never run
            BackupScheduler.builder().pipeline(pipeline).schedule(s).executor(alerts).clock(clock)
                    .retries(c.retries().attempts(), c.retries().backoff()).build().runNow();
        } finally {
            job.close();
        }
        policy.ifPresent(p -> {
            Logging.Scope expiry = Logging.job("expiry", c);
            try {
                Expiry.builder().repository(ctx.keyedRepository()).planner(RetentionPlanner.of(p))
                        .holder(Context.holder()).clock(clock).listener(logged).build().run();
            } finally {
                expiry.close();
            }
        });
        if (!c.replicas().isEmpty()) {
            Logging.Scope copy = Logging.job("copy", c);
            try {
                // after expiry, so nothing about to go is copied; every backup a replica lacks, this one
                // included, and a copy a crash interrupted resumes (Replication logs each one)
                ctx.replication().copyAll();
            } finally {
                copy.close();
            }
        }
    }

    /**
     * The health checks the configuration asks for, or empty if none: the newest verified backup
     * with maxVerifiedAge, the WAL archive's RPO whenever {@code backup.wal.systemId} is set (for
     * the gauge; it alerts with maxRpo), the binlog stream whenever {@code backup.binlog} is set (it
     * alerts when the receiver stops, finds a gap, or lags more than maxRpo), the replicas with
     * maxReplicaLag and {@code backup.replicas}, the WAL receiver whenever {@code backup.wal.receive} is set
     * (it alerts when the receiver stops by itself).
     * Without a webhook the checks still log and measure; their alerts go nowhere else.
     */
    static Optional<Watchdog> watchdog(Context ctx, Optional<WebhookAlerts> webhook, ScheduledExecutorService checks,
                                       Clock clock, BooleanSupplier stopping, Optional<BinlogStreaming> binlog,
                                       Optional<WalStreaming> walReceive) {
        BackstopConfig c = ctx.config();
        BackstopConfig.HealthChecks hc = c.observability().checks();
        Optional<BackstopConfig.Wal> wal = c.wal().filter(w -> w.systemId().isPresent());
        boolean replicas = hc.maxReplicaLag().isPresent() && !c.replicas().isEmpty();
        if (hc.maxVerifiedAge().isEmpty() && wal.isEmpty() && !replicas && binlog.isEmpty() && walReceive.isEmpty()) {
            return Optional.empty();
        }
        Watchdog.Builder w = Watchdog.builder().clock(clock).executor(checks).every(hc.every()).alerts(a -> {
            // stopping is an operator's act: a check racing the shutdown does not page anyone
            if (!stopping.getAsBoolean()) {
                webhook.ifPresent(h -> h.accept(a));
            }
        });
        hc.maxVerifiedAge().ifPresent(max -> w.maxVerifiedAge(max, () -> RepositoryHealth.newestVerified(ctx.keyedRepository())));
        wal.ifPresent(settings -> {
            WalArchive archive = WalCommands.archive(ctx, settings);
            w.walRpo(hc.maxRpo(), "WAL archive of system " + Long.toUnsignedString(archive.systemId()), () -> {
                WalSpool spool = settings.spool().isPresent() ? WalSpool.at(settings.spool().get()) : null;
                return WalSpool.rpo(archive, spool, clock).lag();
            });
        });
        // a receiver that stops (a gap, another server) alerts whatever the limits; maxRpo bounds its lag
        walReceive.ifPresent(s -> w.walReceiver(s.subject(), s::reading));
        binlog.ifPresent(s -> w.binlog(hc.maxRpo(), s.subject(), s::reading));
        if (replicas) {
            Replication replication = ctx.replication();
            w.maxReplicaLag(hc.maxReplicaLag().get(), () -> RepositoryHealth.replicationLag(replication, clock.instant()));
        }
        return Optional.of(w.build());
    }

    /**
     * Alerts to the configured webhook, as one listener. A backup aborted because the daemon is stopping is audited but does not alert:
     * stopping is an operator's act, not a failure.
     */
    private static BackupListener listener(Optional<WebhookAlerts> webhook, Clock clock, BooleanSupplier stopping) {
        List<BackupListener> all = new ArrayList<>();
        webhook.ifPresent(h -> {
            Alerts alerts = Alerts.to(h, Duration.ofDays(2), clock);
            all.add(new BackupListener() {
                @Override
                public void backupSucceeded(dev.backstop.core.manifest.Manifest manifest) {
                    alerts.backupSucceeded(manifest);
                }

                @Override
                public void backupFailed(dev.backstop.core.BackupId id, dev.backstop.core.BackupException failure) {
                    if (!stopping.getAsBoolean()) {
                        alerts.backupFailed(id, failure);
                    }
                }

                @Override
                public void validated(ValidationResult r) {
                    if (!stopping.getAsBoolean()) {
                        alerts.validated(r);
                    }
                }
            });
        });
        BackupListener l = BackupListener.NONE;
        for (BackupListener x : all) {
            l = l.plus(x);
        }
        return l;
    }
}
