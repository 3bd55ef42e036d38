package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.event.Alerts;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.schedule.BackupScheduler;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.event.WebhookAlerts;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.RetentionPolicy;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.micrometer.MicrometerListener;
import dev.backstop.micrometer.PrometheusEndpoint;
import dev.backstop.postgres.logical.RestoreDrill;
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
import java.util.concurrent.CountDownLatch;
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
@Command(name = "run", description = "Run as a daemon: backups on backup.schedule (each followed by expiry when "
        + "retention.deleteExpired is true) and drills on validation.schedule, one runner per tick across replicas "
        + "sharing the repository; serves /metrics for Prometheus when observability.prometheus.port is set. "
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
        if (backupNow && ctx.config().schedule().isEmpty()) {
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
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(DaemonThreads.named("backstop-shutdown").newThread(() -> {
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
            stopped.countDown();
        }));
        daemon.start();
        if (backupNow) {
            executor.execute(() -> daemon.runTick("backup", Instant.now().truncatedTo(ChronoUnit.SECONDS)));
        }
        daemon.jobs().values().forEach(j -> say(ctx, "run: " + j.name() + " on \"" + j.schedule() + "\""));
        root.err.flush();
        stopped.await();
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
        BackstopConfig c = ctx.config();
        MicrometerListener metrics = MicrometerListener.builder().repository(ctx.keyedRepository()).clock(clock)
                .tags(Tags.of("repository", Logging.repository(c))).build();
        metrics.bindTo(registry);
        BackupListener listener = listener(ctx, alerts, clock, stopping).plus(metrics);
        // the pipeline and restores tell the log and the audit log through Context already;
        // expiry and the drill's verdict are told here
        BackupListener logged = listener.plus(ctx.observers());
        Daemon.Builder d = Daemon.builder().leases(ctx.repository().sink()).executor(executor).clock(clock)
                .holder(Context.holder() + "-pid" + ProcessHandle.current().pid());
        Optional<RetentionPolicy> policy = c.storage().retention().flatMap(r -> r.policy(c.zone()));
        c.schedule().ifPresent(s -> d.job("backup", s, () -> {
            Logging.Scope job = Logging.job("backup", c);
            try {
                // retryable failures are tried again here; only the last one is backupFailed (and alerts)
                BackupScheduler.builder().pipeline(ctx.pipeline(listener)).schedule(s).executor(executor).clock(clock)
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
        }));
        c.validation().schedule().filter(s -> c.validation().enabled()).ifPresent(s -> d.job("drill", s, () -> {
            Logging.Scope job = Logging.job("drill", c);
            try {
                Restore restore = ctx.restore();
                ValidationResult r;
                try {
                    r = RestoreDrill.builder().clock(clock).build().validate(restore.latest(), restore);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                logged.validated(r);
            } finally {
                job.close();
            }
        }));
        if (c.schedule().isEmpty() && (c.validation().schedule().isEmpty() || !c.validation().enabled())) {
            throw new ConfigException("backup.schedule", "missing; backstop run needs backup.schedule or "
                    + "validation.schedule (a cron expression like \"0 2 * * *\")");
        }
        return d.build();
    }

    /**
     * Alerts to the configured webhook, as one listener. A backup aborted because the daemon is stopping is audited but does not alert:
     * stopping is an operator's act, not a failure.
     */
    private static BackupListener listener(Context ctx, ScheduledExecutorService executor, Clock clock,
                                           BooleanSupplier stopping) {
        List<BackupListener> all = new ArrayList<>();
        ctx.config().observability().webhook().ifPresent(w -> {
            Alerts alerts = Alerts.to(WebhookAlerts.builder(URI.create(w.reveal())).executor(executor).clock(clock).build(),
                    Duration.ofDays(2), clock);
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
