package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.BackupException;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.core.log.LogFile;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.binlog.BinlogArchive;
import dev.backstop.mysql.physical.BinlogPoint;
import dev.backstop.mysql.physical.MariaDbPhysicalRestore;
import dev.backstop.mysql.recovery.BinlogRecovery;
import dev.backstop.mysql.recovery.BinlogReplay;
import dev.backstop.mysql.recovery.Gtid;
import dev.backstop.mysql.recovery.RecoveryReport;
import dev.backstop.mysql.recovery.RecoveryTarget;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * {@code backstop restore} of a MariaDB backup to a point in time: {@link BinlogRecovery} checks
 * and fetches the archived binlogs from the backup's recorded binlog point to the target first
 * (an archive that does not reach it is refused before anything is written), restores the backup,
 * then replays the range in one client session.
 *
 * <ul>
 *   <li>a logical backup with {@code --to-database NAME}: into the configured server, or the one
 *       {@code --to-server HOST:PORT} names (with the configured user and password). NAME must be
 *       the backed-up database's name, since binlog events name the database they change;</li>
 *   <li>a physical backup with {@code --to-datadir DIR --start}: restored into DIR, {@code
 *       mariadbd} started on it (detached: it outlives the command), then replayed into it.</li>
 * </ul>
 */
final class BinlogRestore {
    /** How long a started server may take to accept the configured account. */
    private static final Duration START_TIMEOUT = Duration.ofMinutes(5);

    private BinlogRestore() {
    }

    /** Whether the options ask for a MariaDB point in time ({@code --target-gtid/-position/-time/-latest}). */
    static boolean requested(Recovery.Options o) {
        return o.gtid != null || o.position != null || o.time != null || o.latestTarget;
    }

    /**
     * The MariaDB target the options name. PostgreSQL's options are refused naming what MariaDB
     * allows, as are two targets at once.
     */
    static RecoveryTarget target(Recovery.Options o, CommandSpec spec, ZoneId zone) {
        String pgOnly = o.lsn != null ? "--target-lsn" : o.xid != null ? "--target-xid" : o.name != null ? "--target-name"
                : o.exclusive ? "--target-exclusive" : o.action != null ? "--target-action" : null;
        if (pgOnly != null) {
            throw new ParameterException(spec.commandLine(), pgOnly + ": not supported for MariaDB (it is PostgreSQL's); "
                    + "a MariaDB backup recovers with --target-gtid DOMAIN-SERVER-SEQ, --target-position FILE:POS, "
                    + "--target-time WHEN or --target-latest");
        }
        int given = (o.gtid != null ? 1 : 0) + (o.position != null ? 1 : 0) + (o.time != null ? 1 : 0) + (o.latestTarget ? 1 : 0);
        if (given > 1) {
            throw new ParameterException(spec.commandLine(), "give one of --target-gtid, --target-position, --target-time, "
                    + "--target-latest (got " + given + ")");
        }
        try {
            if (o.gtid != null) {
                return RecoveryTarget.gtid(o.gtid.trim());
            }
            if (o.position != null) {
                int colon = o.position.lastIndexOf(':');
                if (colon <= 0 || colon == o.position.length() - 1) {
                    throw new IllegalArgumentException("--target-position: got \"" + o.position + "\", expected FILE:POS like "
                            + "mariadb-bin.000042:1234 (SHOW MASTER STATUS)");
                }
                long pos;
                try {
                    pos = Long.parseLong(o.position.substring(colon + 1).trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--target-position: got \"" + o.position + "\", POS must be a byte "
                            + "position like 1234");
                }
                return RecoveryTarget.position(o.position.substring(0, colon).trim(), pos);
            }
            if (o.time != null) {
                return RecoveryTarget.before(Recovery.instant(o.time, zone));
            }
        } catch (IllegalArgumentException | DateTimeParseException e) {
            throw new ParameterException(spec.commandLine(), "recovery target: " + e.getMessage());
        }
        return RecoveryTarget.latest();
    }

    /**
     * Recovers the backup {@code which} names ({@code --latest}: the newest of the kind the
     * destination takes; neither: the newest of that kind before the target) into {@code
     * database} or {@code datadir}, whichever was given; returns what to print.
     */
    static Map<String, Object> run(Context ctx, Restore restore, Commands.Which which, String database, Path datadir,
                                   Recovery.Options o, CommandSpec spec) throws IOException, InterruptedException {
        RecoveryTarget target = target(o, spec, ctx.config().zone());
        if (!requested(o)) {
            throw new ParameterException(spec.commandLine(), "--start, --port and --to-server go with a --target-gtid, "
                    + "--target-position, --target-time or --target-latest (a MariaDB backup recovered to a point in time)");
        }
        if (database == null && datadir == null) {
            throw new ParameterException(spec.commandLine(), "a MariaDB point-in-time restore goes into --to-database NAME "
                    + "(logical backups) or --to-datadir DIR --start (physical ones)");
        }
        if (datadir != null && o.toServer != null) {
            throw new ParameterException(spec.commandLine(), "--to-server goes with --to-database; --to-datadir starts its own "
                    + "server (--port PORT)");
        }
        if (database != null && (o.start || o.port != null)) {
            throw new ParameterException(spec.commandLine(), "--start and --port go with --to-datadir; --to-database recovers "
                    + "into a running server (the configured one, or --to-server HOST:PORT)");
        }
        if (which.id != null && which.latest) {
            which.resolve(restore); // refuses both
        }
        // --latest: the newest backup of the kind the destination takes (a repository may hold both kinds)
        Manifest m = which.id != null ? which.resolve(restore)
                : choose(restore, datadir != null, which.latest ? RecoveryTarget.latest() : target);
        return datadir != null ? intoDataDirectory(ctx, restore, m, datadir, target, o, spec)
                : intoDatabase(ctx, restore, m, database, target, o, spec);
    }

    /**
     * The backup to recover from when no ID is given: the newest MariaDB backup of the kind
     * ({@code physical}) whose binlog point is before the target (for a time: that finished
     * before it).
     */
    static Manifest choose(Restore restore, boolean physical, RecoveryTarget target) throws IOException {
        List<Manifest> all = new ArrayList<>();
        for (Manifest m : restore.repository().catalog().list()) {
            Engines.Kind k = Engines.kind(m);
            if (k == (physical ? Engines.Kind.MARIADB_PHYSICAL : Engines.Kind.MARIADB_LOGICAL)) {
                all.add(m);
            }
        }
        all.sort(Comparator.comparing(Manifest::startedAt).reversed());
        for (Manifest m : all) {
            if (before(m, target)) {
                return m;
            }
        }
        throw new BackupException(Stage.RESTORE, "no " + (physical ? "physical" : "logical") + " MariaDB backup in "
                + restore.repository().sink() + (all.isEmpty() ? "" : " before the target " + target + " (the oldest finished at "
                + all.get(all.size() - 1).finishedAt() + ")"), null);
    }

    private static boolean before(Manifest m, RecoveryTarget target) {
        if (target instanceof RecoveryTarget.BeforeTime t) {
            return m.finishedAt().isBefore(t.time());
        }
        BinlogPoint from;
        try {
            from = BinlogPoint.of(m.consistency());
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (target instanceof RecoveryTarget.AtGtid g) {
            Gtid at = Gtid.parsePosition(from.gtid()).get(g.gtid().domain());
            return at == null || Long.compareUnsigned(at.sequence(), g.gtid().sequence()) <= 0;
        }
        if (target instanceof RecoveryTarget.AtPosition p) {
            LogFile f = BinlogArchive.file(from.file());
            LogFile t = BinlogArchive.file(p.file());
            return f.epoch().equals(t.epoch()) && (f.start() < t.start() || f.start() == t.start() && from.position() <= p.position());
        }
        return true;
    }

    /** The recovery over the archive of {@code m}'s server: {@code backup.binlog}'s archive name, else {@code server-<id>}. */
    private static BinlogRecovery recovery(Context ctx, Restore restore, Manifest m) {
        String recorded = m.consistency().properties().get("server_id");
        Optional<BackstopConfig.Binlog> b = ctx.config().binlog();
        long id;
        if (b.isPresent() && b.get().serverId().isPresent()) {
            id = b.get().serverId().get();
        } else if (recorded != null) {
            id = Long.parseLong(recorded);
        } else {
            throw new BackupException(Stage.RESTORE, "backup " + m.id() + " records no server id; set backup.binlog.serverId "
                    + "to name its binlog archive", null, false, m.id());
        }
        String name = b.flatMap(BackstopConfig.Binlog::archive).orElse("server-" + id);
        BinlogArchive.Builder ab = BinlogArchive.builder(ctx.repository(), name, id);
        ctx.kek().ifPresent(ab::keys);
        BinlogRecovery.Builder rb = BinlogRecovery.builder(restore, ab.build());
        ctx.config().database().workDir().ifPresent(rb::workDir);
        return rb.build();
    }

    /** Recovers logical backup {@code m} into database {@code database} to {@code target}; returns what to print. */
    static Map<String, Object> intoDatabase(Context ctx, Restore restore, Manifest m, String database, RecoveryTarget target,
                                            Recovery.Options o, CommandSpec spec) {
        if (Engines.kind(m) != Engines.Kind.MARIADB_LOGICAL) {
            throw new ConfigException("", "backup " + m.id() + " is not a logical MariaDB backup: recover a physical one with "
                    + "--to-datadir DIR --start");
        }
        String source = m.attributes().get("mariadb.database");
        if (!database.equals(source)) {
            throw new ParameterException(spec.commandLine(), "--to-database: got \"" + database + "\", but the binlog events "
                    + "replayed after backup " + m.id() + " name database \"" + source + "\": give --to-database " + source
                    + " (on another server: --to-server HOST:PORT)");
        }
        MariaDbEndpoint endpoint = o.toServer == null ? ctx.mariaDbEndpoint() : server(ctx, o.toServer, spec);
        RecoveryReport r = recovery(ctx, restore, m).recoverInto(m, target, endpoint);
        Map<String, Object> done = report(r, target);
        done.put("database", database);
        done.put("server", endpoint.host() + ":" + endpoint.port());
        return done;
    }

    /**
     * Restores physical backup {@code m} into {@code dir}, starts a server on it and replays to
     * {@code target}; the binlogs are fetched and checked before {@code dir} is written.
     */
    static Map<String, Object> intoDataDirectory(Context ctx, Restore restore, Manifest m, Path dir, RecoveryTarget target,
                                                 Recovery.Options o, CommandSpec spec) throws IOException, InterruptedException {
        if (!o.start) {
            throw new ParameterException(spec.commandLine(), "--to-datadir with a --target-* replays the binlogs into a running "
                    + "server: add --start (and --port PORT, else a free one) to start mariadbd on DIR");
        }
        if (Engines.kind(m) != Engines.Kind.MARIADB_PHYSICAL) {
            throw new ConfigException("", "backup " + m.id() + " is a logical " + m.source().engine() + " backup: recover it with "
                    + "--to-database NAME; --to-datadir takes physical MariaDB backups");
        }
        Path data = dir.toAbsolutePath();
        try (BinlogReplay replay = recovery(ctx, restore, m).prepare(m, target)) {
            long began = System.nanoTime();
            MariaDbPhysicalRestore.Builder b = MariaDbPhysicalRestore.builder(restore);
            ctx.config().database().workDir().ifPresent(b::workDir);
            b.build().toDataDirectory(m, data);
            int port = o.port != null ? o.port : freePort();
            MariaDbEndpoint endpoint = start(ctx, data, port, m);
            Duration restored = Duration.ofNanos(System.nanoTime() - began);
            Duration replayed;
            try {
                replayed = replay.applyTo(endpoint);
            } catch (BackupException e) {
                throw new BackupException(Stage.RESTORE, e.getMessage() + "; the server on port " + port + " holds a partial "
                        + "recovery: stop it (kill $(cat " + data.resolve("mariadbd.pid") + ")) and discard " + data, e, false, m.id());
            }
            Map<String, Object> done = report(new RecoveryReport(m.id(), replay.from(), replay.reached(), replay.transactions(),
                    replay.lastTransactionTime().orElse(null), replay.files(), replay.bytes(), replay.fetchTime(), restored, replayed),
                    target);
            done.put("datadir", data.toString());
            done.put("started", true);
            done.put("port", port);
            done.put("pidFile", data.resolve("mariadbd.pid").toString());
            return done;
        }
    }

    private static Map<String, Object> report(RecoveryReport r, RecoveryTarget target) {
        Map<String, Object> done = new LinkedHashMap<>();
        done.put("id", r.backup().value());
        done.put("target", target.toString());
        done.put("from", r.from().file() + ":" + r.from().position());
        done.put("reached", r.reached().file() + ":" + r.reached().position());
        done.put("gtidPosition", r.reached().gtid());
        done.put("transactions", r.transactions());
        done.put("lastTransaction", r.lastTransaction() == null ? null : r.lastTransaction().toString());
        done.put("binlogFiles", r.files());
        done.put("elapsedMs", r.total().toMillis());
        return done;
    }

    /** What a finished recovery prints as text. */
    static String describe(Map<String, Object> r) {
        String where = r.containsKey("datadir") ? "data directory " + r.get("datadir") + " (mariadbd started on port " + r.get("port")
                + ", pid in " + r.get("pidFile") + ")" : "database " + r.get("database") + " on " + r.get("server");
        return "restored " + r.get("id") + " into " + where + ", recovered to " + r.get("target") + ": replayed "
                + r.get("transactions") + " transaction(s) from " + r.get("from") + " to " + r.get("reached") + " (GTID position "
                + r.get("gtidPosition") + ") in " + r.get("elapsedMs") + " ms";
    }

    private static MariaDbEndpoint server(Context ctx, String hostPort, CommandSpec spec) {
        int colon = hostPort.lastIndexOf(':');
        try {
            if (colon <= 0) {
                throw new NumberFormatException();
            }
            int port = Integer.parseInt(hostPort.substring(colon + 1));
            MariaDbEndpoint configured = ctx.mariaDbEndpoint();
            return MariaDbEndpoint.of(hostPort.substring(0, colon), port, configured.user(), configured.password());
        } catch (RuntimeException e) {
            throw new ParameterException(spec.commandLine(), "--to-server: got \"" + hostPort + "\", expected HOST:PORT like "
                    + "db2.internal:3306");
        }
    }

    /**
     * Starts {@code mariadbd} on {@code data}, detached (it outlives this command), on loopback
     * {@code port}; returns once the configured account (the source's, restored with it) can log
     * in. As root it runs as the directory's owner ({@code chown -R mysql:mysql DIR} first to run
     * it as mysql).
     */
    private static MariaDbEndpoint start(Context ctx, Path data, int port, Manifest m) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(MariaDbTools.locate().tool("mariadbd").toString(), "--no-defaults",
                "--datadir=" + data, "--port=" + port, "--bind-address=127.0.0.1", "--socket=" + data.resolve("mariadbd.sock"),
                "--pid-file=" + data.resolve("mariadbd.pid"), "--log-error=" + data.resolve("mariadbd.err")));
        if ("root".equals(System.getProperty("user.name"))) {
            cmd.add("--user=" + Files.getOwner(data).getName());
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(data.resolve("mariadbd.out").toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        MariaDbEndpoint configured = ctx.mariaDbEndpoint();
        MariaDbEndpoint ep = MariaDbEndpoint.of("127.0.0.1", port, configured.user(), configured.password());
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new BackupException(Stage.RESTORE, "mariadbd on the restored " + data + " exited with code " + p.exitValue()
                        + " during start-up: " + tail(data.resolve("mariadbd.err")), null, false, m.id());
            }
            try (Connection c = ep.connect(null)) {
                if (c.isValid(5)) {
                    return ep;
                }
            } catch (SQLException e) {
                last = e;
            }
            // polling: a detached server gives no other signal of readiness
            Backoff.Pause.SLEEP.pause(Duration.ofMillis(100));
        }
        throw new BackupException(Stage.RESTORE, "mariadbd on the restored " + data + " did not accept " + configured.user()
                + " within " + START_TIMEOUT + " (it keeps running; last error: " + (last == null ? "none" : last.getMessage()) + "): "
                + tail(data.resolve("mariadbd.err")), null, true, m.id());
    }

    private static String tail(Path log) throws IOException {
        String s = Files.exists(log) ? Files.readString(log) : "(no server log)";
        return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
