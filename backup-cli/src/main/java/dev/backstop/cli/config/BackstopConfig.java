package dev.backstop.cli.config;

import dev.backstop.cli.CronSchedule;
import dev.backstop.core.DataSize;
import dev.backstop.core.report.SloTargets;
import dev.backstop.core.retention.RetentionPolicy;
import dev.backstop.postgres.PgTls;
import dev.backstop.postgres.SslMode;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code backstop} configuration file, typed. Its shape is the JSON template below (the
 * {@code "backup"} object with {@code database}, {@code storage}, {@code validation} and
 * {@code observability}), extended with {@code encryption}, {@code schedule}, {@code zone}, GFS
 * retention rules, database TLS, WAL archiving ({@code wal}), MariaDB/MySQL databases ({@code
 * "type": "mariadb"} or a {@code mariadb://} URL, logical or physical) with binlog streaming
 * ({@code binlog}) and replicas ({@code replicas}). Read it with {@link #load}; every record's
 * {@code toString()} hides secrets.
 *
 * <p>Past 400 lines because every section of the file is a nested record here, so that the
 * configuration's shape reads in one place, as the file does.
 *
 * <pre>{@code
 * {"backup": {
 *   "database": {"type": "postgres", "host": "${DB_HOST}", "port": 5432, "user": "${DB_USER}",
 *                "password": "${DB_PASSWORD}", "name": "${DB_NAME}"},
 *   "storage": {"provider": "s3", "bucket": "${BACKUP_BUCKET}", "prefix": "db-backups/prod",
 *               "region": "${AWS_REGION}", "kmsKeyId": "${KMS_KEY_ID}",
 *               "retention": {"hot": "30d", "warm": "90d", "cold": "365d", "deleteExpired": true}},
 *   "validation": {"enabled": true, "restoreTarget": "isolated-env",
 *                  "checks": ["checksum", "row-count", "schema-integrity"], "schedule": "0 3 * * 0"},
 *   "observability": {"metrics": ["duration_ms", "size_bytes", "success_rate"],
 *                     "alerts": {"onFailure": true, "onValidationMismatch": true, "webhook": "${SLACK_WEBHOOK}"},
 *                     "prometheus": {"port": 9464}, "logFormat": "json",
 *                     "slo": {"rpo": "25h", "rto": "1h", "successRate": 99.5, "validationPassRate": 100}}}}
 * }</pre>
 */
public record BackstopConfig(Database database, Storage storage, Encryption encryption, Optional<CronSchedule> schedule,
                             ZoneId zone, Validation validation, Observability observability, Retries retries,
                             Optional<Wal> wal, Optional<Binlog> binlog, List<Replica> replicas, Capture capture,
                             Timing backupTiming) {

    /** A configuration whose backup ticks have no jitter and skip missed runs. */
    public BackstopConfig(Database database, Storage storage, Encryption encryption, Optional<CronSchedule> schedule,
                          ZoneId zone, Validation validation, Observability observability, Retries retries,
                          Optional<Wal> wal, Optional<Binlog> binlog, List<Replica> replicas, Capture capture) {
        this(database, storage, encryption, schedule, zone, validation, observability, retries, wal, binlog, replicas, capture,
                Timing.NONE);
    }

    /** A configuration that takes full backups at the default settings ({@link Capture#DEFAULT}). */
    public BackstopConfig(Database database, Storage storage, Encryption encryption, Optional<CronSchedule> schedule,
                          ZoneId zone, Validation validation, Observability observability, Retries retries,
                          Optional<Wal> wal, Optional<Binlog> binlog, List<Replica> replicas) {
        this(database, storage, encryption, schedule, zone, validation, observability, retries, wal, binlog, replicas,
                Capture.DEFAULT);
    }

    /**
     * Reads a JSON or YAML file (YAML when its name ends in {@code .yaml} or {@code .yml}),
     * interpolating {@code ${NAME}} from {@code env} and {@code ${file:/path}} from files.
     *
     * @throws ConfigException naming the key path, the value given and what is allowed
     */
    public static BackstopConfig load(Path file, Map<String, String> env) {
        return ConfigParser.load(file, env);
    }

    /**
     * Parses a duration as the configuration writes it: {@code 30d}, {@code 12h}, {@code 90m},
     * {@code 45s} or {@code 2w}.
     *
     * @throws IllegalArgumentException saying the expected form
     */
    public static Duration duration(String text) {
        return ConfigNode.duration(text);
    }

    /** A multi-line summary for people: every setting, secrets hidden, and the next runs after {@code now}. */
    public String summary(Instant now) {
        List<String> l = new ArrayList<>();
        l.add("database:   " + database.type() + " " + database.user() + "@" + database.host() + ":" + database.port() + "/"
                + (database.name().isEmpty() ? "(whole server)" : database.name())
                + " password=" + database.password().map(Secret::toString).orElse("(none)")
                + (database.mariadb() ? " mode=" + database.mode().name().toLowerCase(java.util.Locale.ROOT)
                        + database.jobs().map(j -> " jobs=" + j).orElse("") + database.workDir().map(w -> " workDir=" + w).orElse("")
                        : " tls=" + database.tls().map(Tls::toString).orElse("(driver default)")
                        + " mode=" + database.mode().name().toLowerCase(java.util.Locale.ROOT)
                        + database.dataDirectory().map(d -> " dataDirectory=" + d).orElse("")
                        + database.workDir().map(w -> " workDir=" + w).orElse("")));
        l.add("repository: " + storage.describe());
        l.add("encryption: " + encryption);
        l.add("schedule:   " + schedule.map(c -> c + " in " + zone + ", next at " + c.next(now).atZone(zone)).orElse("(none)")
                + ", " + retries + backupTiming.suffix());
        l.add("capture:    " + capture);
        for (dev.backstop.postgres.physical.BackupLevel level : dev.backstop.postgres.physical.BackupLevel.values()) {
            CronSchedule c = capture.schedules().get(level);
            if (c != null) {
                l.add("schedule:   " + level.label() + " backups on " + c + " in " + zone + ", next at " + c.next(now).atZone(zone));
            }
        }
        l.add("retention:  " + storage.retention().map(Retention::toString).orElse("(none: expire deletes nothing)"));
        l.add("validation: " + validation + validation.schedule().filter(c -> validation.enabled())
                .map(c -> ", next at " + c.next(now).atZone(zone)).orElse(""));
        l.add("alerts:     " + observability);
        wal.ifPresent(w -> l.add("wal:        " + w));
        binlog.ifPresent(b -> l.add("binlog:     " + b));
        replicas.forEach(r -> l.add("replica:    " + r.name() + ": " + r.storage().describe()));
        return String.join(System.lineSeparator(), l) + System.lineSeparator();
    }

    /**
     * The database to back up: PostgreSQL ({@code type} {@code postgres}) or MariaDB/MySQL
     * ({@code mariadb}, {@code mysql}).
     *
     * @param name    the database; for a physical MariaDB backup (the whole server) the one whose
     *                fingerprints the drill compares, empty for none
     * @param tls     PostgreSQL only
     * @param mode    a logical dump ({@code pg_dump}, {@code mariadb-dump}) or a physical copy of the
     *                whole server or cluster ({@code mariadb-backup}; for PostgreSQL the data directory
     *                when {@code dataDirectory} is set, else {@code pg_basebackup})
     * @param jobs    MariaDB/MySQL: sessions a restore loads in (logical), or copy threads (physical)
     * @param workDir where restores and drills put their temporary files and servers (MariaDB/MySQL,
     *                and PostgreSQL physical drills)
     * @param dataDirectory PostgreSQL: the cluster's data directory on this host, read by physical
     *                backups (full, diff, incr) instead of pg_basebackup; a standby's for backups off
     *                the primary
     */
    public record Database(String type, String host, int port, String user, Optional<Secret> password, String name,
                           Optional<Tls> tls, Mode mode, Optional<Integer> jobs, Optional<Path> workDir,
                           Optional<Path> dataDirectory) {
        /** A PostgreSQL database, as the seeds' template describes it. */
        public Database(String type, String host, int port, String user, Optional<Secret> password, String name, Optional<Tls> tls) {
            this(type, host, port, user, password, name, tls, Mode.LOGICAL, Optional.empty(), Optional.empty());
        }

        /** A database whose physical backups (if any) are not read from a data directory. */
        public Database(String type, String host, int port, String user, Optional<Secret> password, String name,
                        Optional<Tls> tls, Mode mode, Optional<Integer> jobs, Optional<Path> workDir) {
            this(type, host, port, user, password, name, tls, mode, jobs, workDir, Optional.empty());
        }

        /** True for MariaDB and MySQL. */
        public boolean mariadb() {
            return type.equals("mariadb") || type.equals("mysql");
        }
    }

    /** How a database is captured. */
    public enum Mode {
        /** A dump of one database (pg_dump, mariadb-dump). */
        LOGICAL,
        /** A copy of the whole server's files (mariadb-backup). */
        PHYSICAL
    }

    /**
     * Binlog streaming of a MariaDB/MySQL server ({@code backstop binlog stream}, and {@code
     * backstop run}) into the configured repository with the configured encryption.
     *
     * @param serverId   the server's {@code @@server_id}; binlogs of any other are refused. Read from
     *                   the server at start when not set (its archive is then named by it)
     * @param archive    the archive's name in the repository ({@code binlog/<archive>}); default
     *                   {@code server-<serverId>}
     * @param spool      a local directory the receiver writes the files it receives into
     * @param startFile  the file to start from when nothing is archived (default the server's oldest)
     * @param deltas     whether the file being written is archived every {@code pollInterval} (sub-second
     *                   RPO) or only once complete
     * @param acceptGaps whether the receiver goes on past binlogs purged before they were archived
     *                   (recording the gap) instead of stopping
     */
    public record Binlog(Optional<Long> serverId, Optional<String> archive, Path spool, Optional<String> startFile, boolean deltas,
                         Duration pollInterval, boolean acceptGaps) {
        @Override
        public String toString() {
            return "archive binlog/" + archive.orElse("server-" + serverId.map(String::valueOf).orElse("<server id>"))
                    + serverId.map(i -> " (server id " + i + ")").orElse(" (server id read from the server)") + ", spool " + spool
                    + startFile.map(f -> ", from " + f).orElse("")
                    + (deltas ? ", deltas every " + pollInterval.toMillis() + " ms" : ", whole files only")
                    + (acceptGaps ? ", goes on past gaps" : ", stops on a gap");
        }
    }

    /** TLS to PostgreSQL: the libpq {@code sslmode} and certificate files. */
    public record Tls(SslMode mode, Optional<Path> rootCert, Optional<Path> clientCert, Optional<Path> clientKey) {
        /**
         * The driver's TLS settings; its builder checks the combination.
         *
         * @throws IllegalArgumentException for a combination the driver cannot use
         */
        public PgTls toPgTls() {
            PgTls.Builder b = PgTls.builder(mode);
            rootCert.ifPresent(b::rootCertificate);
            if (clientCert.isPresent() != clientKey.isPresent()) {
                throw new IllegalArgumentException("clientCert and clientKey go together: give both or neither");
            }
            clientCert.ifPresent(c -> b.clientCertificate(c, clientKey.orElseThrow()));
            return b.build();
        }

        @Override
        public String toString() {
            return mode.keyword() + rootCert.map(p -> " root=" + p).orElse("") + clientCert.map(p -> " cert=" + p).orElse("")
                    + clientKey.map(p -> " key=" + p).orElse("");
        }
    }

    /** Where backups are stored: a directory ({@code path}) or an S3 bucket. */
    public record Storage(String provider, Optional<Path> path, Optional<String> bucket, String prefix, Optional<String> region,
                          Optional<URI> endpoint, boolean pathStyle, Optional<Retention> retention) {
        /** True for an S3 repository. */
        public boolean s3() {
            return provider.equals("s3");
        }

        String describe() {
            return s3() ? "s3://" + bucket.orElseThrow() + "/" + prefix + " region=" + region.orElse("(sdk default)")
                    + endpoint.map(e -> " endpoint=" + e).orElse("") + (pathStyle ? " path-style" : "")
                    : "filesystem " + path.orElseThrow();
        }
    }

    /**
     * Retention: the template's tiers by age ({@code hot}, {@code warm}, {@code cold}: a backup
     * older than {@code cold} is expired, and deleted when {@code deleteExpired}), plus optional
     * grandfather-father-son counts ({@code keepLast}, {@code keepDaily}, ...; 0 when unset).
     */
    public record Retention(Optional<Duration> hot, Optional<Duration> warm, Optional<Duration> cold, boolean deleteExpired,
                            int keepLast, int keepHourly, int keepDaily, int keepWeekly, int keepMonthly, int keepYearly) {

        /** The rule expiry applies: the union of every setting; empty when expiry must delete nothing. */
        public Optional<RetentionPolicy> policy(ZoneId zone) {
            if (!deleteExpired) {
                return Optional.empty();
            }
            List<RetentionPolicy> rules = new ArrayList<>();
            cold.ifPresent(d -> rules.add(RetentionPolicy.keepWithin(d)));
            if (keepLast > 0) {
                rules.add(RetentionPolicy.keepLast(keepLast));
            }
            if (keepHourly > 0) {
                rules.add(RetentionPolicy.keepHourly(keepHourly, zone));
            }
            if (keepDaily > 0) {
                rules.add(RetentionPolicy.keepDaily(keepDaily, zone));
            }
            if (keepWeekly > 0) {
                rules.add(RetentionPolicy.keepWeekly(keepWeekly, zone));
            }
            if (keepMonthly > 0) {
                rules.add(RetentionPolicy.keepMonthly(keepMonthly, zone));
            }
            if (keepYearly > 0) {
                rules.add(RetentionPolicy.keepYearly(keepYearly, zone));
            }
            return Optional.of(RetentionPolicy.allOf(rules));
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder();
            hot.ifPresent(d -> b.append("hot ").append(days(d)).append(", "));
            warm.ifPresent(d -> b.append("warm until ").append(days(d)).append(", "));
            cold.ifPresent(d -> b.append("cold until ").append(days(d)).append(", "));
            String[] names = {"keepLast", "keepHourly", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly"};
            int[] counts = {keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly};
            for (int i = 0; i < names.length; i++) {
                if (counts[i] > 0) {
                    b.append(names[i]).append(' ').append(counts[i]).append(", ");
                }
            }
            return b.append(deleteExpired ? "expired backups are deleted" : "nothing is deleted (deleteExpired is false)").toString();
        }

        private static String days(Duration d) {
            return d.toHours() % 24 == 0 ? d.toDays() + "d" : d.toString();
        }
    }

    /** How backups are encrypted: a local Tink keyset, a KMS key, or explicitly not at all. */
    public record Encryption(Kind kind, Optional<Path> keyset, Optional<String> kmsKeyId, Optional<String> kmsRegion,
                             Optional<URI> kmsEndpoint) {
        /** The kinds of key-encryption key. */
        public enum Kind {
            /** A Tink keyset file ({@code LocalKeysetKek}). */
            KEYSET,
            /** An AWS KMS key ({@code KmsKek}). */
            KMS,
            /** No encryption, said explicitly with {@code "none": true}. */
            NONE
        }

        @Override
        public String toString() {
            return switch (kind) {
                case KEYSET -> "local keyset " + keyset.orElseThrow();
                case KMS -> "KMS key " + kmsKeyId.orElseThrow() + kmsEndpoint.map(e -> " endpoint=" + e).orElse("");
                case NONE -> "none (explicitly)";
            };
        }
    }

    /**
     * Restore drills: which kind, which checks, and when (a cron expression).
     *
     * @param kind         which backup is drilled and how (default {@link DrillKind#AUTO})
     * @param restorePoint for {@link DrillKind#PITR}: the recorded restore point recovered to
     */
    public record Validation(boolean enabled, String restoreTarget, List<String> checks, Optional<CronSchedule> schedule,
                             DrillKind kind, Optional<String> restorePoint, Timing timing) {
        /** Drills of the {@link DrillKind#AUTO} kind. */
        public Validation(boolean enabled, String restoreTarget, List<String> checks, Optional<CronSchedule> schedule) {
            this(enabled, restoreTarget, checks, schedule, DrillKind.AUTO, Optional.empty());
        }

        /** Drills whose ticks have no jitter and skip missed runs. */
        public Validation(boolean enabled, String restoreTarget, List<String> checks, Optional<CronSchedule> schedule,
                          DrillKind kind, Optional<String> restorePoint) {
            this(enabled, restoreTarget, checks, schedule, kind, restorePoint, Timing.NONE);
        }

        @Override
        public String toString() {
            String which = switch (kind) {
                case AUTO -> "";
                case PITR -> "pitr drill to restore point " + restorePoint.orElseThrow() + ", ";
                default -> kind.label() + " drill, ";
            };
            return enabled ? which + "checks " + checks + " in " + restoreTarget + schedule.map(s -> " on " + s + timing.suffix()).orElse("")
                    : "disabled";
        }
    }

    /**
     * How a scheduled job's ticks run ({@code backup.jitter}, {@code backup.missedRuns} and the
     * same keys under {@code validation}).
     *
     * @param jitter     the most each tick is delayed at random, from zero to {@link #MAX_JITTER}
     * @param missedRuns what is done about ticks missed while no daemon ran
     */
    public record Timing(Duration jitter, dev.backstop.cli.Daemon.MissedRuns missedRuns) {
        /** The longest jitter the configuration accepts. */
        public static final Duration MAX_JITTER = Duration.ofHours(6);
        /** No jitter; missed ticks are skipped. */
        public static final Timing NONE = new Timing(Duration.ZERO, dev.backstop.cli.Daemon.MissedRuns.SKIP);

        /** {@code ", " + this} unless nothing is set, for summaries. */
        String suffix() {
            return equals(NONE) ? "" : ", " + this;
        }

        @Override
        public String toString() {
            return (jitter.isZero() ? "no jitter" : "jitter up to " + jitter)
                    + (missedRuns == dev.backstop.cli.Daemon.MissedRuns.RUN_ONCE ? ", one catch-up run after missed ticks"
                            : ", missed ticks skipped");
        }
    }

    /** Which backup a drill restores, and what it proves. */
    public enum DrillKind {
        /** The newest backup, drilled the way its manifest says it was taken (logical or physical). */
        AUTO("auto"),
        /** The newest logical backup: restored into a throwaway server and compared with its fingerprints. */
        LOGICAL("logical"),
        /**
         * The newest physical backup (or chain): recovered to its consistent point in a throwaway
         * server, pg_amcheck on every database, data checksums, RTO.
         */
        PHYSICAL("physical"),
        /**
         * PostgreSQL: the newest physical backup before a recorded restore point, recovered to it
         * from the WAL archive, checked as {@link #PHYSICAL} and compared with the fingerprints
         * recorded at the point.
         */
        PITR("pitr");

        private final String label;

        DrillKind(String label) {
            this.label = label;
        }

        /** The name the configuration and {@code --kind} use. */
        public String label() {
            return label;
        }
    }

    /**
     * WAL archiving for PostgreSQL's {@code archive_command} and {@code restore_command}
     * ({@code backstop wal}), into the configured repository with the configured encryption.
     *
     * @param systemId the server's system identifier ({@code SELECT system_identifier FROM
     *     pg_control_system()}); every wal command needs it
     * @param spool a local directory: archive-push only queues the file durably and returns, a
     *     drainer uploads in order
     * @param spawnDrainer whether archive-push starts a background drainer ({@code "drainer": "spawn"},
     *     the default) or leaves {@code backstop wal drain} to the operator ({@code "external"})
     * @param getQueue a local directory archive-get prefetches the next segments into
     * @param getQueueMax how much the prefetch queue holds, at least one 16 MiB segment
     * @param receive  streaming replication into the archive by {@code backstop run} ({@code
     *     backup.wal.receive}), instead of or beside {@code archive_command}
     */
    public record Wal(Optional<Long> systemId, Optional<Path> spool, boolean spawnDrainer, Duration drainBackoffMin,
                      Duration drainBackoffMax, Duration drainIdleExit, Optional<Path> getQueue, DataSize getQueueMax,
                      Optional<Receive> receive) {
        /** WAL archiving without a receiver in the daemon. */
        public Wal(Optional<Long> systemId, Optional<Path> spool, boolean spawnDrainer, Duration drainBackoffMin,
                   Duration drainBackoffMax, Duration drainIdleExit, Optional<Path> getQueue, DataSize getQueueMax) {
            this(systemId, spool, spawnDrainer, drainBackoffMin, drainBackoffMax, drainIdleExit, getQueue, getQueueMax,
                    Optional.empty());
        }

        @Override
        public String toString() {
            return "system " + systemId.map(Long::toUnsignedString).orElse("(not set)")
                    + spool.map(p -> ", spool " + p + (spawnDrainer ? " (background drainer)" : " (drained by backstop wal drain)"))
                            .orElse(", archive-push uploads directly")
                    + getQueue.map(q -> ", prefetch queue " + q + " of " + getQueueMax).orElse("")
                    + receive.map(r -> ", " + r).orElse("");
        }
    }

    /**
     * The WAL receiver {@code backstop run} runs ({@code backup.wal.receive}), as {@code backstop
     * wal receive} does in the foreground: one daemon at a time across the replicas sharing the
     * repository.
     *
     * @param slot    the physical replication slot, created if missing (1 to 63 of a-z, 0-9, '_')
     * @param workDir a local directory for the segment being received (durable disk; one per slot)
     */
    public record Receive(String slot, Path workDir) {
        /** The slot when the configuration names none. */
        public static final String DEFAULT_SLOT = "backstop";

        @Override
        public String toString() {
            return "received by backstop run over slot " + slot + " into work directory " + workDir;
        }
    }

    /**
     * A repository {@code backstop copy} copies backups to ({@code backup.replicas}), named as
     * the replica records on the primary name it.
     */
    public record Replica(String name, Storage storage) {
    }

    /**
     * Metrics, logs, alerts and the report's objectives; the webhook is a secret (it carries a
     * token). {@code prometheus} is empty unless configured: {@code backstop run} serves no
     * endpoint by default.
     */
    public record Observability(List<String> metrics, boolean onFailure, boolean onValidationMismatch, Optional<Secret> webhook,
                                Optional<Prometheus> prometheus, LogFormat logFormat, SloTargets slo, HealthChecks checks) {
        /** Observability with nothing configured: no alerts, no endpoint, text logs, the default objectives. */
        public static Observability defaults() {
            return new Observability(List.of(), false, false, Optional.empty(), Optional.empty(), LogFormat.TEXT, DEFAULT_SLO,
                    HealthChecks.NONE);
        }

        @Override
        public String toString() {
            return "metrics " + metrics + ", onFailure=" + onFailure + ", onValidationMismatch=" + onValidationMismatch
                    + ", webhook=" + webhook.map(Secret::toString).orElse("(none)")
                    + ", prometheus=" + prometheus.map(Prometheus::toString).orElse("(off)")
                    + ", logs=" + logFormat.name().toLowerCase(java.util.Locale.ROOT)
                    + ", slo rpo " + slo.rpo() + " rto " + slo.rto() + " success " + slo.successRate() * 100 + " %"
                    + " validation " + slo.validationPassRate() * 100 + " %" + ", checks " + checks;
        }
    }

    /**
     * What {@code backstop run} checks on its timer ({@code observability.alerts}): the newest
     * verified backup no older than {@code maxVerifiedAge}, the WAL archive's RPO (with {@code
     * backup.wal}) or the binlog stream's (with {@code backup.binlog}) no more than {@code maxRpo},
     * every replica no more than {@code maxReplicaLag}
     * behind (with {@code backup.replicas}); an unset limit is not checked.
     *
     * @param every how often the checks run; the first runs one period after start
     */
    public record HealthChecks(Optional<Duration> maxVerifiedAge, Optional<Duration> maxRpo, Optional<Duration> maxReplicaLag,
                               Duration every) {
        /** The period of the checks when the configuration names none. */
        public static final Duration DEFAULT_EVERY = Duration.ofMinutes(5);
        /** Nothing checked. */
        public static final HealthChecks NONE = new HealthChecks(Optional.empty(), Optional.empty(), Optional.empty(), DEFAULT_EVERY);

        /** Whether any limit is set. */
        public boolean any() {
            return maxVerifiedAge.isPresent() || maxRpo.isPresent() || maxReplicaLag.isPresent();
        }

        @Override
        public String toString() {
            return any() ? "every " + every + maxVerifiedAge.map(d -> ", verified within " + d).orElse("")
                    + maxRpo.map(d -> ", WAL/binlog RPO within " + d).orElse("")
                    + maxReplicaLag.map(d -> ", replicas within " + d).orElse("") : "(none)";
        }
    }

    /** The report's objectives when the configuration names none: daily backups with an hour of slack, a one-hour restore, the seeds' rates. */
    public static final SloTargets DEFAULT_SLO = new SloTargets(Duration.ofHours(25), Duration.ofHours(1), 0.995, 1.0);

    /**
     * How often {@code backstop run} tries a scheduled backup whose failure is retryable (storage
     * or database unreachable), and the first wait, doubled after each attempt (with jitter). Only
     * the last failure alerts.
     */
    public record Retries(int attempts, Duration backoff) {
        /** Three attempts, 30 s apart at first. */
        public static final Retries DEFAULT = new Retries(3, Duration.ofSeconds(30));

        @Override
        public String toString() {
            return attempts + " attempts, " + backoff.toSeconds() + " s back-off";
        }
    }

    /** Where {@code backstop run} serves {@code /metrics}: an address and a port (0: any free port, printed at start). */
    public record Prometheus(String bind, int port) {
        @Override
        public String toString() {
            return bind + ":" + port + "/metrics";
        }
    }

    /** How the command line writes its log to stderr. */
    public enum LogFormat {
        /** One line of text per event. */
        TEXT,
        /** One JSON object per line, with the MDC ({@code backup.id}, {@code correlation.id}, ...) and key-values. */
        JSON
    }
}
