package dev.backstop.cli.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.backstop.cli.CronSchedule;
import dev.backstop.cli.config.BackstopConfig.Database;
import dev.backstop.cli.config.BackstopConfig.Encryption;
import dev.backstop.cli.config.BackstopConfig.LogFormat;
import dev.backstop.cli.config.BackstopConfig.Observability;
import dev.backstop.cli.config.BackstopConfig.Prometheus;
import dev.backstop.cli.config.BackstopConfig.Retention;
import dev.backstop.cli.config.BackstopConfig.Storage;
import dev.backstop.cli.config.BackstopConfig.Validation;
import dev.backstop.cli.config.BackstopConfig.Wal;
import dev.backstop.core.DataSize;
import dev.backstop.core.report.SloTargets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Turns the configuration tree into {@link BackstopConfig}, refusing unknown keys and bad values. */
final class ConfigParser {
    private static final Set<String> CHECKS = Set.of("checksum", "row-count", "schema-integrity");
    private static final Set<String> METRICS = Set.of("duration_ms", "size_bytes", "success_rate");

    private ConfigParser() {
    }

    static BackstopConfig load(Path file, Map<String, String> env) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException("", "configuration file " + file + " does not exist");
        } catch (IOException e) {
            throw new ConfigException("", "cannot read configuration file " + file + ": " + e);
        }
        String name = file.getFileName().toString();
        return parse(text, name.endsWith(".yaml") || name.endsWith(".yml"), env);
    }

    static BackstopConfig parse(String text, boolean yaml, Map<String, String> env) {
        JsonNode tree;
        try {
            tree = (yaml ? new ObjectMapper(new YAMLFactory()) : new ObjectMapper()).readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException("", "not valid " + (yaml ? "YAML" : "JSON") + ": " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr()));
        }
        if (tree == null || tree.isMissingNode()) {
            throw new ConfigException("", "the configuration is empty; expected {\"backup\": { ... }}");
        }
        ConfigNode root = new ConfigNode("", tree, env);
        ConfigNode backup = root.object("backup");
        root.finish();
        ZoneId zone = backup.optString("zone").map(z -> {
            try {
                return ZoneId.of(z);
            } catch (DateTimeException e) {
                throw backup.bad("zone", z, "a time zone like \"UTC\" or \"Europe/Berlin\"");
            }
        }).orElse(ZoneId.of("UTC"));
        Database database = DatabaseParser.database(backup.object("database"));
        ConfigNode storageNode = backup.object("storage");
        Storage storage = storage(storageNode);
        Optional<String> storageKms = storage.s3() ? storageNode.optString("kmsKeyId") : Optional.empty();
        storageNode.finish();
        Encryption encryption = encryption(backup, storageKms, storage.region());
        Optional<CronSchedule> schedule = cron(backup, "schedule", zone);
        BackstopConfig.Retries retries = backup.optObject("retries").map(ConfigParser::retries).orElse(BackstopConfig.Retries.DEFAULT);
        Validation validation = backup.optObject("validation").map(v -> validation(v, zone))
                .orElse(new Validation(false, "isolated-env", List.of(), Optional.empty()));
        Observability observability = backup.optObject("observability").map(ConfigParser::observability)
                .orElse(Observability.defaults());
        Optional<Wal> wal = backup.optObject("wal").map(ConfigParser::wal);
        if (wal.isPresent() && database.mariadb()) {
            throw new ConfigException(backup.pathOf("wal"), "is PostgreSQL's WAL archiving, but backup.database is " + database.type()
                    + "; MariaDB/MySQL stream their binlog: backup.binlog");
        }
        Optional<BackstopConfig.Binlog> binlog = backup.optObject("binlog").map(b -> DatabaseParser.binlog(b, database));
        List<BackstopConfig.Replica> replicas = replicas(backup);
        Capture capture = CaptureParser.capture(backup, database, schedule, zone);
        BackstopConfig.Timing backupTiming = timing(backup);
        backup.finish();
        checkDrill(backup, validation, database);
        return new BackstopConfig(database, storage, encryption, schedule, zone, validation, observability, retries, wal, binlog,
                replicas, capture, backupTiming);
    }


    private static List<BackstopConfig.Replica> replicas(ConfigNode backup) {
        List<BackstopConfig.Replica> out = new java.util.ArrayList<>();
        for (ConfigNode n : backup.objectList("replicas")) {
            String name = n.string("name");
            if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
                throw n.bad("name", name, "1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'");
            }
            if (out.stream().anyMatch(r -> r.name().equals(name))) {
                throw n.bad("name", name, "a name no other replica has");
            }
            Storage storage = storage(n, false);
            n.finish();
            out.add(new BackstopConfig.Replica(name, storage));
        }
        return List.copyOf(out);
    }

    private static Storage storage(ConfigNode n) {
        return storage(n, true);
    }

    private static Storage storage(ConfigNode n, boolean withRetention) {
        String provider = n.optChoice("provider", Map.of("s3", "s3", "filesystem", "filesystem"))
                .orElseThrow(() -> n.missing("provider", "\"s3\" or \"filesystem\""));
        Optional<Retention> retention = withRetention ? n.optObject("retention").map(ConfigParser::retention) : Optional.empty();
        if (provider.equals("filesystem")) {
            Path path = n.optPath("path").orElseThrow(() -> n.missing("path", "the repository's directory"));
            return new Storage(provider, Optional.of(path), Optional.empty(), "", Optional.empty(), Optional.empty(), false, retention);
        }
        String bucket = n.string("bucket");
        String prefix = n.optString("prefix").orElse("");
        Optional<String> region = n.optString("region");
        return new Storage(provider, Optional.empty(), Optional.of(bucket), prefix, region, n.optUri("endpoint"),
                n.bool("pathStyle", false), retention);
    }

    private static Retention retention(ConfigNode n) {
        Optional<Duration> hot = n.optDuration("hot");
        Optional<Duration> warm = n.optDuration("warm");
        Optional<Duration> cold = n.optDuration("cold");
        boolean delete = n.bool("deleteExpired", false);
        int last = count(n, "keepLast");
        int hourly = count(n, "keepHourly");
        int daily = count(n, "keepDaily");
        int weekly = count(n, "keepWeekly");
        int monthly = count(n, "keepMonthly");
        int yearly = count(n, "keepYearly");
        n.finish();
        order(n, "warm", warm, "hot", hot);
        order(n, "cold", cold, "warm", warm);
        order(n, "cold", cold, "hot", hot);
        if (delete && cold.isEmpty() && last + hourly + daily + weekly + monthly + yearly == 0) {
            throw new ConfigException(n.pathOf("deleteExpired"), "is true but nothing says what to keep; expected \"cold\" "
                    + "(the age at which a backup expires) or keepLast/keepDaily/keepWeekly/keepMonthly/keepYearly");
        }
        return new Retention(hot, warm, cold, delete, last, hourly, daily, weekly, monthly, yearly);
    }

    private static int count(ConfigNode n, String key) {
        return n.optInt(key, 1, 100_000).orElse(0);
    }

    private static void order(ConfigNode n, String later, Optional<Duration> l, String earlier, Optional<Duration> e) {
        if (l.isPresent() && e.isPresent() && l.get().compareTo(e.get()) < 0) {
            throw new ConfigException(n.pathOf(later), "is shorter than " + earlier + "; expected hot <= warm <= cold (ages)");
        }
    }

    private static Encryption encryption(ConfigNode backup, Optional<String> storageKms, Optional<String> region) {
        String allowed = "{\"keyset\": \"/path/kek.json\"}, {\"kmsKeyId\": \"arn:...\"} or {\"none\": true}";
        Optional<ConfigNode> section = backup.optObject("encryption");
        if (section.isEmpty()) {
            return storageKms.map(k -> new Encryption(Encryption.Kind.KMS, Optional.empty(), Optional.of(k), region, Optional.empty()))
                    .orElseThrow(() -> backup.missing("encryption", allowed + " (or backup.storage.kmsKeyId); "
                            + "leaving encryption out must be said with \"none\": true"));
        }
        ConfigNode n = section.get();
        boolean none = n.bool("none", false);
        Optional<Path> keyset = n.optPath("keyset");
        Optional<String> kms = n.optString("kmsKeyId");
        Optional<String> kmsRegion = n.optString("region").or(() -> region);
        Optional<java.net.URI> endpoint = n.optUri("kmsEndpoint");
        n.finish();
        int given = (none ? 1 : 0) + (keyset.isPresent() ? 1 : 0) + (kms.isPresent() ? 1 : 0);
        if (given != 1) {
            throw new ConfigException(n.path(), "give exactly one of " + allowed);
        }
        if (storageKms.isPresent()) {
            throw new ConfigException(backup.pathOf("storage.kmsKeyId"), "conflicts with backup.encryption; give the key in one place");
        }
        Encryption.Kind kind = none ? Encryption.Kind.NONE : keyset.isPresent() ? Encryption.Kind.KEYSET : Encryption.Kind.KMS;
        return new Encryption(kind, keyset, kms, kmsRegion, endpoint);
    }

    static Optional<CronSchedule> cron(ConfigNode n, String key, ZoneId zone) {
        return n.optString(key).map(expr -> {
            try {
                return CronSchedule.parse(expr, zone);
            } catch (IllegalArgumentException e) {
                throw n.bad(key, expr, "a cron expression \"minute hour day-of-month month day-of-week\", like \"0 3 * * 0\" ("
                        + e.getMessage() + ")");
            }
        });
    }

    private static Validation validation(ConfigNode n, ZoneId zone) {
        boolean enabled = n.bool("enabled", true);
        String target = n.optChoice("restoreTarget", Map.of("isolated-env", "isolated-env")).orElse("isolated-env");
        List<String> checks = n.stringList("checks", CHECKS);
        Optional<CronSchedule> schedule = cron(n, "schedule", zone);
        BackstopConfig.DrillKind kind = n.optChoice("kind", ConfigNode.choices(BackstopConfig.DrillKind::label,
                List.of(BackstopConfig.DrillKind.values()))).orElse(BackstopConfig.DrillKind.AUTO);
        Optional<String> point = n.optString("restorePoint");
        BackstopConfig.Timing timing = timing(n);
        n.finish();
        point.ifPresent(p -> {
            if (kind != BackstopConfig.DrillKind.PITR) {
                throw new ConfigException(n.pathOf("restorePoint"), "goes with \"kind\": \"pitr\" (a drill recovering to it); "
                        + "kind is " + kind.label());
            }
            if (!p.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}\\*?")) {
                throw n.bad("restorePoint", p, "a restore point name recorded by backstop restore-point (1 to 63 of A-Z, "
                        + "a-z, 0-9, '.', '_' and '-', starting with a letter or digit), or a prefix and '*' for the "
                        + "newest point whose name starts with it, like \"nightly-*\"");
            }
        });
        if (kind == BackstopConfig.DrillKind.PITR && point.isEmpty()) {
            throw n.missing("restorePoint", "the name of a restore point recorded with backstop restore-point "
                    + "(\"kind\": \"pitr\" drills a recovery to it)");
        }
        return new Validation(enabled, target, checks.isEmpty() ? List.copyOf(CHECKS) : checks, schedule, kind, point, timing);
    }

    /** A PITR drill replays PostgreSQL's WAL: refused for MariaDB/MySQL, whose drills restore backups as they are. */
    private static void checkDrill(ConfigNode backup, Validation validation, Database database) {
        if (validation.kind() == BackstopConfig.DrillKind.PITR && database.mariadb()) {
            throw new ConfigException(backup.pathOf("validation.kind"), "is pitr, a PostgreSQL drill through the WAL archive, "
                    + "but backup.database is " + database.type() + "; expected auto, logical or physical");
        }
    }

    /** {@code jitter} (a duration up to {@link BackstopConfig.Timing#MAX_JITTER}, default 0) and {@code missedRuns}. */
    static BackstopConfig.Timing timing(ConfigNode n) {
        Duration jitter = n.optString("jitter").map(v -> {
            Duration d;
            try {
                d = v.strip().equals("0") ? Duration.ZERO : ConfigNode.duration(v.strip());
            } catch (IllegalArgumentException e) {
                throw n.bad("jitter", v, "a duration from 0 to 6h, like \"5m\"");
            }
            if (d.isNegative() || d.compareTo(BackstopConfig.Timing.MAX_JITTER) > 0) {
                throw n.bad("jitter", v, "a duration from 0 to 6h, like \"5m\"");
            }
            return d;
        }).orElse(Duration.ZERO);
        dev.backstop.cli.Daemon.MissedRuns missed = n.optString("missedRuns").map(v -> switch (v.strip()) {
            case "skip" -> dev.backstop.cli.Daemon.MissedRuns.SKIP;
            case "runOnce" -> dev.backstop.cli.Daemon.MissedRuns.RUN_ONCE;
            default -> throw n.bad("missedRuns", v, "one of skip (wait for the next tick), runOnce (one catch-up run after "
                    + "ticks missed while no daemon ran)");
        }).orElse(dev.backstop.cli.Daemon.MissedRuns.SKIP);
        return new BackstopConfig.Timing(jitter, missed);
    }

    private static Wal wal(ConfigNode n) {
        Optional<Long> systemId = n.optString("systemId").map(v -> {
            try {
                return Long.parseUnsignedLong(v.strip());
            } catch (NumberFormatException e) {
                throw n.bad("systemId", v, "the decimal system identifier from SELECT system_identifier FROM pg_control_system()");
            }
        });
        Optional<Path> spool = n.optPath("spool");
        boolean spawn = n.optChoice("drainer", Map.of("spawn", true, "external", false)).orElse(true);
        Duration backoffMin = walDuration(n, "drainBackoffMin", Duration.ofSeconds(1));
        Duration backoffMax = walDuration(n, "drainBackoffMax", Duration.ofSeconds(60));
        Duration idleExit = walDuration(n, "drainIdleExit", Duration.ofSeconds(60));
        Optional<Path> getQueue = n.optPath("getQueue");
        DataSize getQueueMax = n.optString("getQueueMax").map(v -> {
            DataSize size;
            try {
                size = DataSize.parse(v.strip());
            } catch (IllegalArgumentException e) {
                throw n.bad("getQueueMax", v, "a size such as 256MiB: " + e.getMessage());
            }
            if (size.bytes() < WAL_SEGMENT_BYTES) {
                throw n.bad("getQueueMax", v, "a size that holds at least one 16 MiB segment");
            }
            return size;
        }).orElse(DataSize.ofMiB(256));
        Optional<BackstopConfig.Receive> receive = n.optObject("receive").map(ConfigParser::receive);
        n.finish();
        if (backoffMax.compareTo(backoffMin) < 0) {
            throw new ConfigException(n.pathOf("drainBackoffMax"), "is shorter than drainBackoffMin");
        }
        if (receive.isPresent() && systemId.isEmpty()) {
            throw n.missing("systemId", "the decimal system identifier from SELECT system_identifier FROM pg_control_system(): "
                    + "the receiver archives into that system's WAL archive");
        }
        return new Wal(systemId, spool, spawn, backoffMin, backoffMax, idleExit, getQueue, getQueueMax, receive);
    }

    private static BackstopConfig.Receive receive(ConfigNode n) {
        String slot = n.optString("slot").orElse(BackstopConfig.Receive.DEFAULT_SLOT);
        if (!slot.matches("[a-z0-9_]{1,63}")) {
            throw n.bad("slot", slot, "a replication slot name: 1 to 63 of a-z, 0-9 and '_'");
        }
        Path workDir = n.optPath("workDir").orElseThrow(() -> n.missing("workDir",
                "a local directory for the segment being received (durable disk), like \"/var/lib/backstop/wal-receive\""));
        n.finish();
        return new BackstopConfig.Receive(slot, workDir);
    }

    private static final long WAL_SEGMENT_BYTES = 16L << 20;

    /** WAL timings go below a second: {@code 500ms} as well as the file's other durations. */
    private static Duration walDuration(ConfigNode n, String key, Duration dflt) {
        return n.optString(key).map(v -> {
            String t = v.strip();
            try {
                Duration d = t.endsWith("ms") ? Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)))
                        : ConfigNode.duration(t);
                if (d.isZero() || d.isNegative()) {
                    throw new IllegalArgumentException();
                }
                return d;
            } catch (IllegalArgumentException e) {
                throw n.bad(key, v, "a positive duration such as 500ms, 10s or 5m");
            }
        }).orElse(dflt);
    }

    private static Observability observability(ConfigNode n) {
        List<String> metrics = n.stringList("metrics", METRICS);
        Optional<ConfigNode> alerts = n.optObject("alerts");
        Optional<Prometheus> prometheus = n.optObject("prometheus").map(ConfigParser::prometheus);
        LogFormat logFormat = n.optChoice("logFormat", Map.of("text", LogFormat.TEXT, "json", LogFormat.JSON)).orElse(LogFormat.TEXT);
        SloTargets slo = n.optObject("slo").map(ConfigParser::slo).orElse(BackstopConfig.DEFAULT_SLO);
        n.finish();
        if (alerts.isEmpty()) {
            return new Observability(metrics, false, false, Optional.empty(), prometheus, logFormat, slo,
                    BackstopConfig.HealthChecks.NONE);
        }
        ConfigNode a = alerts.get();
        boolean onFailure = a.bool("onFailure", true);
        boolean onMismatch = a.bool("onValidationMismatch", true);
        Optional<Secret> webhook = a.optSecret("webhook");
        BackstopConfig.HealthChecks checks = new BackstopConfig.HealthChecks(a.optDuration("maxVerifiedAge"),
                a.optDuration("maxRpo"), a.optDuration("maxReplicaLag"),
                a.optDuration("checkEvery").orElse(BackstopConfig.HealthChecks.DEFAULT_EVERY));
        a.finish();
        if (checks.every().isZero() || checks.maxVerifiedAge().orElse(Duration.ofSeconds(1)).isZero()
                || checks.maxRpo().orElse(Duration.ofSeconds(1)).isZero() || checks.maxReplicaLag().orElse(Duration.ofSeconds(1)).isZero()) {
            throw new ConfigException(a.path(), "checkEvery, maxVerifiedAge, maxRpo and maxReplicaLag must be longer than 0, got " + checks);
        }
        webhook.ifPresent(w -> {
            if (!w.reveal().startsWith("https://") && !w.reveal().startsWith("http://")) {
                throw new ConfigException(a.pathOf("webhook"), "expected an http(s) URL (value hidden: it is a secret)");
            }
        });
        return new Observability(metrics, onFailure, onMismatch, webhook, prometheus, logFormat, slo, checks);
    }

    private static BackstopConfig.Retries retries(ConfigNode n) {
        int attempts = n.optInt("attempts", 1, 10).orElse(BackstopConfig.Retries.DEFAULT.attempts());
        Duration backoff = n.optDuration("backoff").orElse(BackstopConfig.Retries.DEFAULT.backoff());
        n.finish();
        return new BackstopConfig.Retries(attempts, backoff);
    }

    private static Prometheus prometheus(ConfigNode n) {
        String bind = n.optString("bind").orElse("0.0.0.0");
        int port = n.optInt("port", 0, 65535).orElseThrow(() -> n.missing("port", "the port to serve /metrics on (0: any free port)"));
        n.finish();
        return new Prometheus(bind, port);
    }

    private static SloTargets slo(ConfigNode n) {
        SloTargets d = BackstopConfig.DEFAULT_SLO;
        Duration rpo = n.optDuration("rpo").orElse(d.rpo());
        Duration rto = n.optDuration("rto").orElse(d.rto());
        double success = percent(n, "successRate").orElse(d.successRate());
        double validation = percent(n, "validationPassRate").orElse(d.validationPassRate());
        n.finish();
        if (rpo.isZero() || rto.isZero()) {
            throw new ConfigException(n.path(), "rpo and rto must be longer than 0, got rpo " + rpo + " and rto " + rto);
        }
        return new SloTargets(rpo, rto, success, validation);
    }

    /** A percentage from 0 to 100, as a fraction. */
    private static Optional<Double> percent(ConfigNode n, String key) {
        return n.optString(key).map(text -> {
            try {
                double p = Double.parseDouble(text.trim());
                if (p >= 0 && p <= 100) {
                    return p / 100;
                }
            } catch (NumberFormatException e) {
                // falls through to the message below
            }
            throw n.bad(key, text, "a percentage from 0 to 100, like 99.5");
        });
    }
}
