package dev.backstop.micrometer;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.event.BackupListener;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.replication.Replication;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.internal.builder.Settings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backstop's events as Micrometer meters: add it to a pipeline, restore, scheduler and expiry as
 * their listener, and {@linkplain #bindTo bind} it to your registry. The meter names are listed
 * in docs/operations.md ("Metrics").
 *
 * <p><b>Guarantees.</b> Counters and timers are registered on first use with the tags of that
 * event (backup type, stage, reason, validator, outcome), so a registry bound after a few events
 * sees them from then on. With a {@linkplain Builder#repository repository}, the gauge {@value
 * #NEWEST_VERIFIED_AGE} reads the catalog and validation records lazily, when the registry asks,
 * at most once per {@linkplain Builder#cacheFor cache period}, and again as soon as a validation
 * passes; it is NaN while no backup is verified or the repository cannot be read. With a
 * {@linkplain Builder#replication replication setup}, {@value #REPLICATION_LAG} is read the same
 * way for each replica (NaN for a replica that cannot be listed).
 *
 * <p><b>Threading.</b> Thread-safe; callbacks only touch meters and never throw for metric
 * reasons.
 *
 * <p><b>Sample.</b>
 * <pre>{@code
 * MicrometerListener metrics = MicrometerListener.builder().repository(repository).build();
 * metrics.bindTo(registry);
 * BackupPipeline pipeline = BackupPipeline.builder().source(source).repository(repository)
 *         .noEncryption().listener(metrics).build();
 * }</pre>
 */
public final class MicrometerListener implements BackupListener, MeterBinder {
    /** Timer: duration of each backup attempt; tags type, outcome ({@code success}, {@code failure}). */
    public static final String BACKUP_DURATION = "backstop.backup.duration";
    /** Counter: backups that succeeded; tag type. */
    public static final String BACKUPS_SUCCEEDED = "backstop.backup.succeeded";
    /** Counter: failed attempts; tags type, stage, reason, retryable, final ({@code false}: a retry follows). */
    public static final String BACKUPS_FAILED = "backstop.backup.failed";
    /** Counter: bytes read from the source by successful backups; tag type. */
    public static final String BYTES_IN = "backstop.backup.bytes.in";
    /** Counter: bytes stored by successful backups (after compression and encryption); tag type. */
    public static final String BYTES_STORED = "backstop.backup.bytes.stored";
    /**
     * Counter: lock waits, attempts that found the repository lock held by another writer; tag
     * final ({@code false}: the scheduler waits and tries again).
     */
    public static final String LOCK_BUSY = "backstop.lock.busy";
    /** Counter: failed attempts that a retry follows; tags type, stage. */
    public static final String RETRIES = "backstop.backup.retries";
    /** Timer: duration of each restore or verification read. */
    public static final String RESTORE_DURATION = "backstop.restore.duration";
    /** Counter: bytes restored. */
    public static final String RESTORE_BYTES = "backstop.restore.bytes";
    /** Timer: duration of each validation, the achieved RTO of a drill; tags validator, outcome ({@code pass}, {@code fail}). */
    public static final String VALIDATION_DURATION = "backstop.validation.duration";
    /** Counter: validations by outcome; tags validator, outcome ({@code pass}, {@code fail}). */
    public static final String VALIDATIONS = "backstop.validation.results";
    /** Time gauge: the RTO the newest restore drill measured (its {@code rto_ms}); tag validator. */
    public static final String DRILL_RTO = "backstop.validation.rto";
    /**
     * Time gauge: how far each replica is behind, tag replica: 0 while it holds every backup the
     * primary has that is newer than its own newest copy, else the age of the oldest such backup it
     * lacks (a replica with no copy at all counts from the primary's oldest backup).
     */
    public static final String REPLICATION_LAG = "backstop.replication.lag";
    /** Counter: backups deleted by expiry. */
    public static final String EXPIRY_DELETIONS = "backstop.expiry.deletions";
    /** Counter: bytes freed by expiry deletions. */
    public static final String EXPIRY_FREED_BYTES = "backstop.expiry.freed.bytes";
    /** Time gauge: age of the newest verified backup (the recovery point if the database died now). */
    public static final String NEWEST_VERIFIED_AGE = "backstop.backup.newest.verified.age";
    /**
     * Time gauge: the WAL archive's recovery point objective as last measured, how long the oldest
     * committed but unarchived transaction has been exposed ({@code backstop_wal_rpo_seconds} in
     * Prometheus); NaN until measured or while the archive cannot be read.
     */
    public static final String WAL_RPO = "backstop.wal.rpo";
    /**
     * Time gauge: the binlog receiver's recovery point, how long received binlog may have waited
     * to be archived ({@code backstop_binlog_rpo_seconds}); NaN until read.
     */
    public static final String BINLOG_RPO = "backstop.binlog.rpo";
    /** Gauge (bytes): binlog bytes received but not yet archived. */
    public static final String BINLOG_LAG_BYTES = "backstop.binlog.lag.bytes";
    /** Gauge: the sequence number of the newest archived binlog file ({@code 42} for {@code binlog.000042}). */
    public static final String BINLOG_ARCHIVED_FILE = "backstop.binlog.archived.file";
    /** Gauge (bytes): how far the newest archived binlog file is archived. */
    public static final String BINLOG_ARCHIVED_POSITION = "backstop.binlog.archived.position";
    /** Gauge: 1 while the binlog receiver runs, 0 once it stopped (a failure, a gap, another server). */
    public static final String BINLOG_RUNNING = "backstop.binlog.running";

    private static final Logger LOG = LoggerFactory.getLogger(MicrometerListener.class);

    // events come before bindTo (or with no registry at all): meters go to a composite that the
    // bound registries join, so nothing recorded after binding is lost
    private final CompositeMeterRegistry meters = new CompositeMeterRegistry();
    private final Repository repository;
    private final Replication replication;
    private final Supplier<Optional<Duration>> walRpo;
    private final BinlogGauges binlog;
    private final Clock clock;
    private final Duration cacheFor;
    private final Tags tags;
    private final Map<BackupId, Instant> started = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> rtoMillis = new ConcurrentHashMap<>();
    private volatile Cached newest;
    private volatile CachedLags lags;

    private record Cached(Optional<Instant> finishedAt, Instant readAt) {
    }

    private record CachedLags(Map<String, Double> seconds, Instant readAt) {
    }

    private MicrometerListener(Builder b) {
        this.repository = b.repository;
        this.replication = b.replication;
        this.walRpo = b.walRpo;
        this.binlog = b.binlog == null ? null : new BinlogGauges(b.binlog);
        this.clock = b.clock;
        this.cacheFor = b.cacheFor;
        this.tags = b.tags;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Adds {@code registry} to the registries this listener's meters are in. */
    @Override
    public void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        meters.add(registry);
        if (repository != null) {
            // on the registry itself: a gauge is read on scrape, so there is nothing to carry over
            // held strongly, like every gauge here: Micrometer's default weak reference lets a
            // listener that no job holds (a daemon that only streams binlogs) read NaN after a GC
            TimeGauge.builder(NEWEST_VERIFIED_AGE, this, TimeUnit.SECONDS, MicrometerListener::newestVerifiedAgeSeconds)
                    .description("age of the newest verified backup").tags(tags).strongReference(true).register(registry);
        }
        if (walRpo != null) {
            TimeGauge.builder(WAL_RPO, walRpo, TimeUnit.SECONDS, r -> r.get().map(d -> d.toMillis() / 1000.0).orElse(Double.NaN))
                    .description("age of the oldest committed but unarchived WAL").tags(tags).strongReference(true).register(registry);
        }
        if (binlog != null) {
            binlog.register(registry, tags);
        }
        if (replication != null) {
            for (Replication.Replica r : replication.replicas()) {
                String name = r.name();
                TimeGauge.builder(REPLICATION_LAG, this, TimeUnit.SECONDS, l -> l.replicationLagSeconds(name))
                        .description("how far the replica is behind the primary").tags(tags).tag("replica", name)
                        .strongReference(true).register(registry);
            }
        }
    }

    @Override
    public void backupStarted(BackupId id, CaptureSource source) {
        started.put(id, clock.instant());
    }

    @Override
    public void backupSucceeded(Manifest m) {
        started.remove(m.id());
        Tags t = tags.and("type", type(m.id()));
        Timer.builder(BACKUP_DURATION).tags(t).tag("outcome", "success").register(meters).record(m.duration());
        Counter.builder(BACKUPS_SUCCEEDED).tags(t).register(meters).increment();
        Counter.builder(BYTES_IN).baseUnit("bytes").tags(t).register(meters).increment(m.plaintextBytes());
        Counter.builder(BYTES_STORED).baseUnit("bytes").tags(t).register(meters).increment(m.storedBytes());
    }

    @Override
    public void backupFailed(BackupId id, BackupException failure) {
        failed(id, failure, true);
    }

    @Override
    public void backupAttemptFailed(BackupId id, BackupException failure, int attempt) {
        failed(id, failure, false);
    }

    private void failed(BackupId id, BackupException failure, boolean last) {
        Tags t = tags.and("type", type(id));
        String stage = failure.stage().name().toLowerCase(Locale.ROOT);
        Instant start = started.remove(id);
        if (start != null) {
            Timer.builder(BACKUP_DURATION).tags(t).tag("outcome", "failure").register(meters)
                    .record(Duration.between(start, clock.instant()));
        }
        Counter.builder(BACKUPS_FAILED).tags(t).tag("stage", stage)
                .tag("reason", reason(failure)).tag("retryable", Boolean.toString(failure.retryable()))
                .tag("final", Boolean.toString(last)).register(meters).increment();
        if (!last) {
            Counter.builder(RETRIES).tags(t).tag("stage", stage).register(meters).increment();
        }
        if (failure.stage() == Stage.LOCK) {
            Counter.builder(LOCK_BUSY).tags(tags).tag("final", Boolean.toString(last)).register(meters).increment();
        }
    }

    @Override
    public void restoreFinished(BackupId id, long plaintextBytes, Duration elapsed) {
        Timer.builder(RESTORE_DURATION).tags(tags).tag("type", type(id)).register(meters).record(elapsed);
        Counter.builder(RESTORE_BYTES).baseUnit("bytes").tags(tags).tag("type", type(id)).register(meters)
                .increment(plaintextBytes);
    }

    @Override
    public void validated(ValidationResult r) {
        Timer.builder(VALIDATION_DURATION).tags(tags).tag("validator", r.validator())
                .tag("outcome", r.passed() ? "pass" : "fail").register(meters).record(r.elapsed());
        Counter.builder(VALIDATIONS).tags(tags).tag("validator", r.validator()).tag("outcome", r.passed() ? "pass" : "fail")
                .register(meters).increment();
        String rto = r.measurements().get("rto_ms");
        if (rto != null) {
            try {
                rto(r.validator()).set(Long.parseLong(rto));
            } catch (NumberFormatException e) {
                LOG.warn("validation {} of {}: rto_ms is not a number: {}", r.validator(), r.backupId(), rto);
            }
        }
        if (r.passed()) {
            // a new verified backup: the gauge reads afresh instead of waiting out its cache
            newest = null;
        }
    }

    @Override
    public void backupExpired(BackupId id, long storedBytes, List<String> reasons) {
        Counter.builder(EXPIRY_DELETIONS).tags(tags).tag("type", type(id)).register(meters).increment();
        Counter.builder(EXPIRY_FREED_BYTES).baseUnit("bytes").tags(tags).register(meters).increment(storedBytes);
    }

    private AtomicLong rto(String validator) {
        return rtoMillis.computeIfAbsent(validator, v -> {
            AtomicLong holder = new AtomicLong();
            // the gauge holds the value strongly: it lives as long as this listener
            TimeGauge.builder(DRILL_RTO, holder, TimeUnit.MILLISECONDS, AtomicLong::doubleValue)
                    .description("RTO measured by the newest restore drill").tags(tags).tag("validator", v).register(meters);
            return holder;
        });
    }

    private double replicationLagSeconds(String replica) {
        Instant now = clock.instant();
        CachedLags c = lags;
        if (c == null || !now.isBefore(c.readAt().plus(cacheFor))) {
            c = new CachedLags(readLags(now), now);
            lags = c;
        }
        return c.seconds().getOrDefault(replica, Double.NaN);
    }

    private Map<String, Double> readLags(Instant now) {
        Map<String, Double> out = new ConcurrentHashMap<>();
        RepositoryHealth.replicationLag(replication, now).forEach((name, lag) -> out.put(name, lag.toMillis() / 1000.0));
        return out;
    }

    private double newestVerifiedAgeSeconds() {
        Instant now = clock.instant();
        Cached c = newest;
        if (c == null || !now.isBefore(c.readAt().plus(cacheFor))) {
            c = new Cached(readNewestVerified(), now);
            newest = c;
        }
        return c.finishedAt().map(t -> Duration.between(t, now).toMillis() / 1000.0).orElse(Double.NaN);
    }

    private Optional<Instant> readNewestVerified() {
        try {
            return RepositoryHealth.newestVerified(repository);
        } catch (RuntimeException e) {
            // a scrape must not fail: NaN says "unknown", the log says why
            LOG.warn("could not read the newest verified backup for {}: {}", NEWEST_VERIFIED_AGE, e.toString());
            return Optional.empty();
        }
    }

    private static String type(BackupId id) {
        return id.type().name().toLowerCase(Locale.ROOT);
    }

    private static String reason(BackupException e) {
        if (e instanceof StorageException se) {
            return se.reason().name().toLowerCase(Locale.ROOT);
        }
        return e instanceof IntegrityException ? "integrity" : "none";
    }

    /** Builder for {@link MicrometerListener}; everything is optional. */
    public static final class Builder {
        private final Settings given = new Settings();
        private Repository repository;
        private Replication replication;
        private Supplier<Optional<Duration>> walRpo;
        private Supplier<Optional<BinlogStatus>> binlog;
        private Clock clock = Clock.systemUTC();
        private Duration cacheFor = Duration.ofMinutes(1);
        private Tags tags = Tags.empty();

        private Builder() {
        }

        /** Enables the {@value MicrometerListener#NEWEST_VERIFIED_AGE} gauge over this repository's catalog and validations. */
        public Builder repository(Repository repository) {
            this.repository = given.once("repository", this.repository, repository);
            return this;
        }

        /**
         * Enables the {@value MicrometerListener#REPLICATION_LAG} gauge, one per replica of {@code
         * replication}, read from the primary's and each replica's catalog like the newest verified
         * age (lazily, cached).
         */
        public Builder replication(Replication replication) {
            this.replication = Objects.requireNonNull(replication, "replication");
            return this;
        }

        /**
         * Enables the {@value MicrometerListener#WAL_RPO} gauge, which shows what {@code rpo}
         * supplies on each scrape (empty: unknown, NaN). The supplier must be cheap: give the last
         * measurement, not a fresh read of the archive.
         */
        public Builder walRpo(Supplier<Optional<Duration>> rpo) {
            this.walRpo = Objects.requireNonNull(rpo, "rpo");
            return this;
        }

        /**
         * Enables the {@code backstop.binlog.*} gauges ({@value MicrometerListener#BINLOG_RPO},
         * {@value MicrometerListener#BINLOG_LAG_BYTES}, {@value MicrometerListener#BINLOG_ARCHIVED_FILE},
         * {@value MicrometerListener#BINLOG_ARCHIVED_POSITION}, {@value MicrometerListener#BINLOG_RUNNING}),
         * which show what {@code status} supplies on each scrape (empty: unknown, NaN). The supplier
         * must be cheap: a receiver's {@code rpo()} is, a read of the archive is not.
         */
        public Builder binlog(Supplier<Optional<BinlogStatus>> status) {
            this.binlog = given.once("binlog", this.binlog, status);
            return this;
        }

        /** The clock of durations and ages; default the system's UTC clock. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /** How long a read of the newest verified backup is reused (default 1 min, at most 1 day). */
        public Builder cacheFor(Duration period) {
            if (period.isNegative() || period.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("cacheFor: got " + period + ", allowed 0..P1D");
            }
            given.onceNullable("cacheFor", this.cacheFor, period);
            this.cacheFor = period;
            return this;
        }

        /** Tags on every meter, e.g. {@code repository=orders-prod}; additive: each call adds its tags. */
        public Builder tags(Iterable<Tag> tags) {
            this.tags = this.tags.and(tags);
            return this;
        }

        public MicrometerListener build() {
            return new MicrometerListener(this);
        }
    }
}
