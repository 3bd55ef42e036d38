package dev.backstop.cli;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PgTls;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.physical.BaseBackupSource;
import dev.backstop.postgres.physical.PointInTimeRecovery;
import dev.backstop.postgres.physical.RecoveryTarget;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code backstop restore --to DIR}: a PostgreSQL physical backup restored as a data directory,
 * with recovery to a point in time configured from the repository's WAL archive
 * ({@link PointInTimeRecovery#prepare}); WAL is fetched by {@code backstop wal archive-get}, so
 * the directory recovers on its own whenever it is started. {@code --start} starts it, waits for
 * promotion and leaves it running.
 */
final class Recovery {
    /** The OS user a server runs as when the command runs as root ({@code initdb} and {@code postgres} refuse root). */
    static final String SERVER_USER = "postgres";
    /** How often a starting server is asked whether it was promoted. */
    private static final Duration POLL = Duration.ofMillis(200);

    private Recovery() {
    }

    /** The point-in-time options of {@code backstop restore}. */
    static final class Options {
        @Option(names = "--target-time", paramLabel = "WHEN", description = "Recover to this time: an instant "
                + "(2026-12-07T14:03:00Z, or with an offset) or a local date-time in the configured zone (2026-12-07T15:03:00). "
                + "MariaDB: every transaction stamped before WHEN, to the second (binlog times are whole seconds).")
        String time;

        @Option(names = "--target-lsn", paramLabel = "LSN", description = "Recover to this WAL position (like 0/3000148).")
        String lsn;

        @Option(names = "--target-xid", paramLabel = "XID", description = "Recover to the commit of this transaction id.")
        Long xid;

        @Option(names = "--target-name", paramLabel = "NAME", description = "Recover to this restore point "
                + "(SELECT pg_create_restore_point('NAME')).")
        String name;

        @Option(names = "--target-gtid", paramLabel = "GTID", description = "MariaDB only: recover up to and including "
                + "the transaction with this GTID (DOMAIN-SERVER-SEQ, like 0-1-4711). Not supported for PostgreSQL.")
        String gtid;

        @Option(names = "--target-position", paramLabel = "FILE:POS", description = "MariaDB only: recover every transaction "
                + "that ends at or before this binlog position (like mariadb-bin.000042:1234, from SHOW MASTER STATUS). "
                + "Not supported for PostgreSQL.")
        String position;

        @Option(names = "--target-latest", description = "Recover to the end of the archive: for MariaDB, replay every archived "
                + "binlog transaction after the backup (without a --target-* a MariaDB restore replays nothing); for PostgreSQL "
                + "what --to does without a target.")
        boolean latestTarget;

        @Option(names = "--to-server", paramLabel = "HOST:PORT", description = "MariaDB, with --to-database and a --target-*: "
                + "recover into this server, with the configured user and password (default: the configured server).")
        String toServer;

        @Option(names = "--target-exclusive", description = "Stop just before the target (time, LSN, xid) instead of "
                + "just after it.")
        boolean exclusive;

        @Option(names = "--target-action", paramLabel = "ACTION", description = "What the server does at the target: "
                + "promote (the default), pause (read-only, for a look before SELECT pg_wal_replay_resume() promotes it) "
                + "or shutdown (stops there, to change the target before going on).")
        RecoveryTarget.Action action;

        @Option(names = "--start", description = "With --to: start the restored server, wait until it reached the target "
                + "and was promoted, print its port and leave it running. With --to-datadir (MariaDB): start mariadbd on the "
                + "directory, replay the binlogs to the --target-* given, print its port and leave it running.")
        boolean start;

        @Option(names = "--port", paramLabel = "PORT", description = "With --start: the port to listen on "
                + "(127.0.0.1; default: a free one).")
        Integer port;

        @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "1h", description = "With --start: how long "
                + "recovery may take before the command gives up (the server keeps running). Default: ${DEFAULT-VALUE}.")
        String timeout;

        /** Whether any option of point-in-time recovery was given. */
        boolean any() {
            return time != null || lsn != null || xid != null || name != null || gtid != null || exclusive || start
                    || port != null || action != null || position != null || latestTarget || toServer != null;
        }

        /** The target the options name, with its action; {@link RecoveryTarget#latest()} when none does. */
        RecoveryTarget target(CommandSpec spec, ZoneId zone) {
            RecoveryTarget t = point(spec, zone);
            if (action == null || action == RecoveryTarget.Action.PROMOTE) {
                return t;
            }
            if (t instanceof RecoveryTarget.Latest) {
                throw new ParameterException(spec.commandLine(), "--target-action " + action.setting() + " needs --target-time, "
                        + "--target-lsn, --target-xid or --target-name: recovery to the end of the archive promotes");
            }
            if (start) {
                throw new ParameterException(spec.commandLine(), "--start waits for promotion; with --target-action "
                        + action.setting() + " start the directory yourself (pg_ctl start -D DIR)");
            }
            return t.then(action);
        }

        private RecoveryTarget point(CommandSpec spec, ZoneId zone) {
            if (gtid != null) {
                throw new ParameterException(spec.commandLine(), "--target-gtid: not supported for PostgreSQL (a GTID is "
                        + "MariaDB's); use --target-time, --target-lsn, --target-xid or --target-name");
            }
            if (position != null) {
                throw new ParameterException(spec.commandLine(), "--target-position: not supported for PostgreSQL (a binlog "
                        + "position is MariaDB's); use --target-time, --target-lsn, --target-xid, --target-name or --target-latest");
            }
            if (toServer != null) {
                throw new ParameterException(spec.commandLine(), "--to-server: MariaDB only (a PostgreSQL backup recovers into "
                        + "a data directory, --to DIR)");
            }
            int given = (time != null ? 1 : 0) + (lsn != null ? 1 : 0) + (xid != null ? 1 : 0) + (name != null ? 1 : 0)
                    + (latestTarget ? 1 : 0);
            if (given > 1) {
                throw new ParameterException(spec.commandLine(), "give one of --target-time, --target-lsn, --target-xid, "
                        + "--target-name, --target-latest (got " + given + ")");
            }
            try {
                if (time != null) {
                    return RecoveryTarget.time(instant(time, zone), !exclusive);
                }
                if (lsn != null) {
                    return RecoveryTarget.lsn(WalFile.parseLsn(lsn), !exclusive);
                }
                if (xid != null) {
                    return RecoveryTarget.xid(xid, !exclusive);
                }
                if (name != null) {
                    return RecoveryTarget.restorePoint(name);
                }
            } catch (IllegalArgumentException | DateTimeParseException e) {
                throw new ParameterException(spec.commandLine(), "recovery target: " + e.getMessage());
            }
            if (exclusive) {
                throw new ParameterException(spec.commandLine(), "--target-exclusive needs --target-time, --target-lsn or --target-xid");
            }
            return RecoveryTarget.latest();
        }

        Duration timeout(CommandSpec spec) {
            try {
                return dev.backstop.cli.config.BackstopConfig.duration(timeout);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--timeout: " + e.getMessage());
            }
        }
    }

    /** Parses {@code --target-time}: an instant, an offset date-time, or a local date-time in {@code zone}. */
    static Instant instant(String text, ZoneId zone) {
        String t = text.trim().replace(' ', 'T');
        try {
            return OffsetDateTime.parse(t).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return LocalDateTime.parse(t).atZone(zone).toInstant();
            } catch (DateTimeParseException e2) {
                throw new IllegalArgumentException("--target-time: got \"" + text + "\", expected an instant like "
                        + "2026-12-07T14:03:00Z, an offset like 2026-12-07T15:03:00+01:00 or a local time like 2026-12-07T15:03:00");
            }
        }
    }

    /**
     * The backup to recover from when no ID is given: the newest physical backup that ended
     * before the target (time, LSN); the newest one for the other targets.
     */
    static Manifest choose(Restore restore, RecoveryTarget then) throws IOException {
        RecoveryTarget target = then instanceof RecoveryTarget.Then t ? t.target() : then;
        List<Manifest> physical = new ArrayList<>();
        for (Manifest m : restore.repository().catalog().list()) {
            if (m.type() == BackupType.PHYSICAL && m.object(BaseBackupSource.STREAM).isPresent()) {
                physical.add(m);
            }
        }
        physical.sort(Comparator.comparing(Manifest::startedAt));
        for (int i = physical.size() - 1; i >= 0; i--) {
            Manifest m = physical.get(i);
            if (target instanceof RecoveryTarget.Time t && m.finishedAt().isAfter(t.time())) {
                continue;
            }
            String stop = m.consistency().properties().get(BaseBackupSource.STOP_LSN);
            if (target instanceof RecoveryTarget.Lsn l && stop != null && Long.compareUnsigned(WalFile.parseLsn(stop), l.lsn()) > 0) {
                continue;
            }
            return m;
        }
        throw new BackupException(Stage.RESTORE, "no physical backup in " + restore.repository().sink()
                + (physical.isEmpty() ? " (take one with backstop backup --physical)" : " ended before " + describe(target)
                        + " (the oldest ended at " + physical.get(0).finishedAt() + ")"), null);
    }

    /**
     * Restores {@code m} into {@code data} with recovery to {@code target} configured; with
     * {@code start}, starts the server and waits for promotion. Returns what to print.
     */
    static Map<String, Object> run(Context ctx, Restore restore, Manifest m, Path data, RecoveryTarget target, Options o,
                                   CommandSpec spec, Path config) throws IOException, InterruptedException {
        if (m.type() != BackupType.PHYSICAL) {
            throw new ParameterException(spec.commandLine(), "--to: backup " + m.id() + " is " + m.type().label()
                    + "; a data directory comes from a physical backup (backstop backup --physical). "
                    + "Use --to-file or --to-database for a logical one");
        }
        Path dir = data.toAbsolutePath();
        Duration timeout = o.timeout(spec);
        String sysid = m.consistency().properties().get(BaseBackupSource.SYSTEM_IDENTIFIER);
        if (sysid == null) {
            throw new BackupException(Stage.RESTORE, "backup " + m.id() + " records no system identifier; cannot find its WAL",
                    null, false, m.id());
        }
        WalArchive.Builder wb = WalArchive.builder(ctx.repository(), Long.parseUnsignedLong(sysid));
        ctx.kek().ifPresent(wb::keys);
        Map<String, String> settings = PointInTimeRecovery.builder(restore, m).archive(wb.build()).target(target).build()
                .prepare(dir, restoreCommand(config, sysid));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("id", m.id().value());
        r.put("directory", dir.toString());
        r.put("target", describe(target));
        r.put("restoreCommand", settings.get("restore_command"));
        if (!o.start) {
            r.put("started", false);
            return r;
        }
        int port = o.port != null ? o.port : freePort();
        start(dir, port);
        // the restored cluster has the source's roles and pg_hba.conf; TLS as the server offers it, on loopback
        PgEndpoint configured = ctx.endpoint();
        awaitPromotion(new PgEndpoint("127.0.0.1", port, configured.user(), configured.password(), PgTls.prefer()), dir, m.id(),
                target, timeout);
        r.put("started", true);
        r.put("port", port);
        return r;
    }

    static String describe(RecoveryTarget target) {
        if (target instanceof RecoveryTarget.Then then) {
            return describe(then.target()) + ", then " + then.action().setting();
        }
        if (target instanceof RecoveryTarget.Time t) {
            return "time " + t.time() + (t.inclusive() ? "" : " (exclusive)");
        }
        if (target instanceof RecoveryTarget.Lsn l) {
            return "lsn " + WalFile.formatLsn(l.lsn()) + (l.inclusive() ? "" : " (exclusive)");
        }
        if (target instanceof RecoveryTarget.Xid x) {
            return "xid " + x.xid() + (x.inclusive() ? "" : " (exclusive)");
        }
        if (target instanceof RecoveryTarget.RestorePoint p) {
            return "restore point " + p.name();
        }
        return target instanceof RecoveryTarget.Consistent ? "consistent" : "latest";
    }

    /**
     * The restored server's {@code restore_command}: this installation's {@code backstop wal
     * archive-get} with the same configuration file, for the backup's system. It outlives this
     * process, so it names the launcher (or, run from a class path, this JVM and its class path).
     */
    static String restoreCommand(Path config, String systemId) {
        List<String> cmd = new ArrayList<>();
        String launcher = System.getProperty("backstop.launcher");
        if (launcher != null && Files.isExecutable(Path.of(launcher))) {
            cmd.add(launcher);
        } else {
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(Backstop.class.getName());
        }
        cmd.addAll(List.of("wal", "archive-get", "--system-id", systemId, "--config", config.toAbsolutePath().toString()));
        StringBuilder b = new StringBuilder();
        for (String a : cmd) {
            b.append('\'').append(a.replace("'", "'\\''")).append("' ");
        }
        return b.append("%f %p").toString();
    }

    /** Starts the server detached ({@code pg_ctl start}, not waiting): it outlives this command. */
    private static void start(Path dir, int port) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            UserPrincipal owner = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(SERVER_USER);
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    Files.setOwner(p, owner);
                }
            }
            cmd.addAll(List.of("setpriv", "--reuid=" + SERVER_USER, "--regid=" + SERVER_USER, "--init-groups", "--"));
        }
        cmd.addAll(List.of(PgTools.locate().tool("pg_ctl").toString(), "start", "-W", "-D", dir.toString(),
                "-l", dir.resolve("startup.log").toString(),
                "-o", "-p " + port + " -c listen_addresses=127.0.0.1 -k '" + dir + "'"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new BackupException(Stage.RESTORE, "pg_ctl start of " + dir + " failed: " + out.strip(), null, false, null);
        }
    }

    /** Polls the server until it is out of recovery; fails with its log when it stops first or the timeout passes. */
    private static void awaitPromotion(PgEndpoint ep, Path dir, BackupId id, RecoveryTarget target, Duration timeout)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        SQLException last = null;
        int downPolls = 0;
        while (System.nanoTime() < deadline) {
            try (Connection c = ep.connect("postgres"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_is_in_recovery()")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return;
                }
            } catch (SQLException e) {
                last = e;
                // a server that ended recovery without reaching the target shuts down: its pid file goes
                if (!Files.exists(dir.resolve("postmaster.pid")) && ++downPolls > 20) {
                    throw new BackupException(Stage.RESTORE, "the restored server of " + id + " in " + dir
                            + " stopped before promotion (target " + describe(target) + "): " + logTail(dir), e, false, id);
                }
            }
            Backoff.Pause.SLEEP.pause(POLL);
        }
        throw new BackupException(Stage.RESTORE, "the restored server in " + dir + " was not promoted within " + timeout
                + " (target " + describe(target) + "; it keeps running: pg_ctl stop -D " + dir + "); last error: "
                + (last == null ? "none" : last.getMessage()) + "; " + logTail(dir), null, true, id);
    }

    private static String logTail(Path dir) throws IOException {
        Path log = dir.resolve("startup.log");
        String text = Files.exists(log) ? Files.readString(log) : "(no startup.log)";
        return text.length() > 2000 ? text.substring(text.length() - 2000) : text;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

}
