package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.micrometer.BinlogStatus;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.binlog.BinlogArchive;
import dev.backstop.mysql.binlog.BinlogReceiver;
import dev.backstop.mysql.binlog.BinlogRpo;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * The binlog receiver {@code backup.binlog} describes, into the configured repository with the
 * configured keys: run in the foreground by {@code backstop binlog stream} and beside the jobs by
 * {@code backstop run}.
 *
 * <p>The archive is named {@code binlog/<archive>} ({@code server-<serverId>} by default) and
 * takes binlogs of {@code serverId} only; without a configured id it is read from the server at
 * {@link #start()}, so that archive's name follows the server it streams from.
 *
 * <p>Run under a {@link LeasedCompanion} with {@link #lock}, it streams only while its process
 * holds the archive's lease: {@link #suspend()} stops the receiver when the lease is lost, and
 * {@link #start()} starts a new one when it is taken again.
 *
 * <p><b>Threading.</b> {@link #start()} and {@link #suspend()} alternate, {@link #close()} once,
 * from any thread; the readings may be taken from any thread.
 */
final class BinlogStreaming implements LeasedCompanion.Service {
    /**
     * How long a daemon's lease on the streaming lasts without renewal ({@link #lock}): a standby
     * replica takes over within a third of it after the holder stops, and within it after the
     * holder dies.
     */
    static final Duration LEASE_TTL = Duration.ofSeconds(30);

    private final Context ctx;
    private final BackstopConfig.Binlog settings;
    private final Path spool;
    private final Clock clock;
    private volatile BinlogArchive archive;
    private volatile BinlogReceiver receiver;
    private volatile boolean closed;

    BinlogStreaming(Context ctx, BackstopConfig.Binlog settings, Path spool, Clock clock) {
        this.ctx = ctx;
        this.settings = settings;
        this.spool = spool;
        this.clock = clock;
    }

    /** The configured streaming, spooling where {@code backup.binlog.spool} says. */
    static BinlogStreaming of(Context ctx, Clock clock) {
        BackstopConfig.Binlog b = settings(ctx);
        return new BinlogStreaming(ctx, b, b.spool(), clock);
    }

    static BackstopConfig.Binlog settings(Context ctx) {
        return ctx.config().binlog().orElseThrow(() -> new ConfigException("backup.binlog", "missing; expected "
                + "{\"spool\": \"/var/lib/backstop/binlog\", \"serverId\": 1} with a MariaDB/MySQL backup.database"));
    }

    /**
     * The archive the configuration names, with the configured keys; reads the server id from
     * the server when the configuration has none.
     */
    static BinlogArchive archive(Context ctx, BackstopConfig.Binlog b) {
        long id = b.serverId().orElseGet(() -> serverId(ctx.mariaDbEndpoint()));
        BinlogArchive.Builder ab = BinlogArchive.builder(ctx.repository(), b.archive().orElse("server-" + id), id);
        ctx.kek().ifPresent(ab::keys);
        return ab.build();
    }

    private static long serverId(MariaDbEndpoint endpoint) {
        try (Connection c = endpoint.connect(null); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT @@server_id")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new BackupException(Stage.CONFIGURE, "could not read @@server_id of " + endpoint + " (set backup.binlog.serverId "
                    + "to start without reaching the server): " + e.getMessage(), e, true, null);
        }
    }

    /**
     * The lock that daemons sharing the repository take before streaming into the same archive
     * ({@code locks/binlog-<archive>}), so that one of them streams at a time.
     */
    static RepositoryLock lock(Context ctx, BackstopConfig.Binlog b, Clock clock) {
        BackstopConfig.Database db = ctx.config().database();
        String archive = b.archive().orElse(b.serverId().map(i -> "server-" + i).orElse("server-at-" + db.host() + "-" + db.port()));
        String name = ("binlog-" + archive.toLowerCase(Locale.ROOT)).replaceAll("[^a-z0-9-]", "-");
        return RepositoryLock.builder(ctx.repository().sink()).name(name.length() > 63 ? name.substring(0, 63) : name)
                .holder(Context.holder() + "-pid" + ProcessHandle.current().pid()).ttl(LEASE_TTL).clock(clock).build();
    }

    /** Builds and starts the receiver. */
    @Override
    public synchronized void start() {
        if (receiver != null || closed) {
            throw new IllegalStateException("binlog streaming: " + (closed ? "closed" : "started already"));
        }
        archive = archive(ctx, settings);
        BinlogReceiver.Builder b = BinlogReceiver.builder(ctx.mariaDbEndpoint(), archive, spool).clock(clock)
                .pollInterval(settings.pollInterval()).threadFactory(DaemonThreads.named("backstop-binlog"));
        settings.startFile().ifPresent(b::startFile);
        if (!settings.deltas()) {
            b.noDeltas();
        }
        if (settings.acceptGaps()) {
            b.acceptGaps();
        }
        receiver = b.build();
        receiver.start();
    }

    /** The archive streamed into; null before {@link #start()}. */
    BinlogArchive archive() {
        return archive;
    }

    /** The receiver; null before {@link #start()}. */
    BinlogReceiver receiver() {
        return receiver;
    }

    /** The figures of the {@code backstop.binlog.*} gauges; empty before {@link #start()}. */
    Optional<BinlogStatus> status() {
        BinlogReceiver r = receiver;
        if (r == null) {
            return Optional.empty();
        }
        BinlogRpo rpo = r.rpo();
        return Optional.of(new BinlogStatus(rpo.archivedFile(), rpo.archivedPosition(), rpo.lagBytes(), rpo.lag(), r.isRunning()));
    }

    /** What the health checks read: running, why not, a gap, the RPO. */
    Watchdog.Streaming reading() {
        BinlogReceiver r = receiver;
        if (r == null) {
            return new Watchdog.Streaming(!closed, null, null, java.time.Duration.ZERO);
        }
        return new Watchdog.Streaming(r.isRunning() || closed, r.lastFailure(), r.gap().map(Object::toString).orElse(null), r.rpo().lag());
    }

    /** What the health checks call it: {@code binlog stream binlog/<archive>}. */
    String subject() {
        return "binlog stream " + settings.archive().map(a -> "binlog/" + a)
                .orElse(settings.serverId().map(i -> "binlog/server-" + i).orElse("of " + ctx.config().database().host()));
    }

    /**
     * Stops the receiver, not the streaming: {@link #start()} may start a new one (this daemon
     * got the lease back). What it received up to its last poll is archived. Never throws.
     */
    @Override
    public synchronized void suspend() {
        if (receiver != null) {
            receiver.close();
            receiver = null;
        }
    }

    /** Stops the receiver (what it received up to its last poll is archived). Idempotent; never throws. */
    @Override
    public synchronized void close() {
        closed = true;
        if (receiver != null) {
            receiver.close();
        }
    }
}
