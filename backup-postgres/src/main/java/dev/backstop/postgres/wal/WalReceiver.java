package dev.backstop.postgres.wal;

import dev.backstop.core.BackupException;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.internal.RoleThreads;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams WAL from a primary over the replication protocol (PgJDBC) into a {@link WalArchive},
 * segment by segment: the continuous alternative to {@code archive_command}.
 *
 * <pre>{@code
 * try (WalReceiver r = WalReceiver.builder(endpoint, archive).workDir(Path.of("/var/lib/backstop/wal")).build()) {
 *     r.start();
 *     ... r.status().receivedLsn() ...
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> A physical replication slot ({@code CREATE_REPLICATION_SLOT … PHYSICAL
 * RESERVE_WAL}, sent raw because PgJDBC's slot builder cannot reserve WAL) keeps the server from
 * removing WAL the archive does not have yet. The flush position reported to the server moves
 * only when WAL is stored in the archive, so after a crash or a kill the receiver resumes from the
 * end of the archive and leaves no gap. Segments are written to a local {@code <name>.partial}
 * file at their offset and archived under their own name once complete; the bytes are those the
 * server sent, as pg_receivewal writes them. Every {@link Builder#deltaInterval delta interval}
 * (default 200 ms) the bytes received since the last one are archived as an immutable delta
 * object of the unfinished segment, and its tail the moment it completes, so the repository trails
 * the server by about one interval instead of one segment ({@link #rpo()}); never the same byte
 * twice. Once a segment is archived whole its deltas are deleted; a receiver stopped in between
 * leaves both, and the next session deletes the deltas. Uploads run on threads of their own so
 * that reading never waits for storage; the local write is fsynced at least every 100 ms under
 * load and whenever the stream goes idle ({@link Status#receivedLsn()}). A server whose system
 * identifier differs from the archive's is refused. Connection failures are retried with
 * exponential backoff; the status says how many and the last error.
 *
 * <p><b>Timelines.</b> At a timeline switch (a promoted standby) PgJDBC stops delivering data
 * without ending the stream, so after a second of silence the receiver asks the server for its
 * timeline; on a newer one it reconnects, archives the {@code TIMELINE_HISTORY} file and resumes
 * from the end of the archive on the new timeline, naming each segment after the timeline that
 * owns it in that history (the segment holding the switch point under the new timeline, as
 * recovery expects).
 *
 * <p><b>Restrictions.</b> Always streams the server's current timeline (PgJDBC cannot ask for an
 * older one): WAL of an old timeline past the switch point that the server never had is not
 * archived. 16 MiB segments. The role needs REPLICATION. One receiver per slot.
 *
 * <p><b>Threading.</b> {@link #start()} runs the receiver on its own thread; {@link #status()} is
 * safe from any thread; {@link #close()} stops it and waits. Its threads (the receiving loop, the
 * server-position poller and the two upload threads of each connection) come from {@link
 * Builder#threadFactory}.
 */
public final class WalReceiver implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WalReceiver.class);
    private static final long DEFAULT_DELTA_INTERVAL_MILLIS = 200;
    private static final Duration DEFAULT_DELTA_INTERVAL = Duration.ofMillis(DEFAULT_DELTA_INTERVAL_MILLIS);
    private final PgEndpoint endpoint;
    private final WalArchive archive;
    private final String slot;
    private final Path workDir;
    private final Duration minBackoff;
    private final Duration maxBackoff;
    private final Clock clock;
    private final Thread thread;
    private final RoleThreads threads;
    private volatile boolean stopping;
    private volatile ReplicationSession session;
    private final Duration deltaInterval;
    private volatile Status status = new Status(0, 0, 0, null, 0, 0, 0, 0, 0, null);
    private final RpoTracker rpo = new RpoTracker();
    private final Tracking progress = new Tracking();

    private WalReceiver(Builder b) {
        this.endpoint = b.endpoint;
        this.archive = b.archive;
        this.slot = b.slot;
        this.workDir = b.workDir;
        this.minBackoff = b.minBackoff;
        this.maxBackoff = b.maxBackoff;
        this.clock = b.clock;
        this.deltaInterval = b.deltaInterval;
        this.threads = RoleThreads.of(b.threadFactory);
        this.thread = threads.named("backstop-wal-receiver-" + slot).newThread(LogContext.propagate(this::run));
    }

    public static Builder builder(PgEndpoint endpoint, WalArchive archive) {
        return new Builder(endpoint, archive);
    }

    /**
     * What the receiver has done so far.
     *
     * @param timeline         the timeline being streamed (0 before the first connection)
     * @param receivedLsn      the end of the WAL written and fsynced to the local partial segment
     * @param archivedLsn      the end of the WAL stored in the archive, as whole segments or deltas of the
     *                         unfinished one (= flush reported to the server)
     * @param archivedAt       when that WAL was stored
     * @param segments         whole segments archived by this receiver
     * @param deltas           delta objects archived by this receiver (see {@link Builder#deltaInterval})
     * @param deltaBytes       WAL bytes those deltas hold
     * @param deltaStoredBytes bytes those deltas take in the repository (compressed, encrypted; without metadata)
     * @param reconnects       connections lost and retried
     * @param lastError        the last connection or storage error, or null
     */
    public record Status(int timeline, long receivedLsn, long archivedLsn, Instant archivedAt, long segments, long deltas,
                         long deltaBytes, long deltaStoredBytes, long reconnects, String lastError) {
        Status withError(String error, long moreReconnects) {
            return new Status(timeline, receivedLsn, archivedLsn, archivedAt, segments, deltas, deltaBytes, deltaStoredBytes,
                    reconnects + moreReconnects, error);
        }
    }

    public Status status() {
        return status;
    }

    /**
     * The recovery point right now: what is in the repository, the commit time there, what is
     * only local, and the lag behind the server (whose flush position is polled every 200 ms
     * while streaming). See {@link RpoStatus} for the granularity. Cheap; safe from any thread.
     */
    public RpoStatus rpo() {
        return rpo.view(clock.instant());
    }

    /**
     * Whether the receiver runs: false before {@link #start()}, after {@link #close()}, and once it
     * stopped by itself because retrying cannot help (a server of another system identifier;
     * {@link Status#lastError()} says why). Connection failures it retries keep it running.
     */
    public boolean isRunning() {
        return thread.isAlive();
    }

    /** Starts receiving on the receiver's own thread. Call once. */
    public void start() {
        thread.start();
    }

    private void run() {
        Backoff backoff = Backoff.builder(minBackoff, maxBackoff).jitter(0.5).build();
        int failures = 0;
        while (!stopping) {
            try {
                session();
                failures = 0;
            } catch (IntegrityException e) {
                update(s -> s.withError(e.getMessage(), 0));
                return;
            } catch (SQLException | IOException | BackupException e) {
                if (stopping) {
                    return;
                }
                update(s -> s.withError(String.valueOf(e.getMessage()), 1));
                LOG.atWarn().addKeyValue("event", "wal.disconnected").addKeyValue("slot", slot).addKeyValue("failures", failures + 1)
                        .log("WAL receiver on slot {} lost its connection, reconnecting: {}", slot, e.getMessage());
                try {
                    backoff.pause(++failures);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private void session() throws SQLException, IOException {
        ReplicationSession session = new ReplicationSession(endpoint, archive, slot, workDir, deltaInterval, progress, threads);
        this.session = session;
        try {
            if (!stopping) {
                session.run();
            }
        } finally {
            this.session = null;
        }
    }

    /** Status and RPO bookkeeping fed by the sessions. */
    private final class Tracking implements ReplicationSession.Progress {
        @Override
        public void streaming(int timeline, long start, long archived) {
            // RPO first: whoever sees the status streaming sees the archived commit read back with it
            rpo.streaming(start, archived, rpo.knowsArchivedCommit() ? null : archive.lastCommitBefore(start).orElse(null));
            LOG.atInfo().addKeyValue("event", "wal.connected").addKeyValue("slot", slot).addKeyValue("timeline", timeline)
                    .addKeyValue("start.lsn", WalFile.formatLsn(start)).addKeyValue("reconnects", status().reconnects())
                    .log("WAL receiver on slot {} streaming timeline {} from {}", slot, timeline, WalFile.formatLsn(start));
            update(s -> new Status(timeline, Math.max(s.receivedLsn, start), Math.max(s.archivedLsn, archived), s.archivedAt,
                    s.segments, s.deltas, s.deltaBytes, s.deltaStoredBytes, s.reconnects, s.lastError));
        }

        @Override
        public void received(long lsn) {
            update(s -> new Status(s.timeline, lsn, s.archivedLsn, s.archivedAt, s.segments, s.deltas, s.deltaBytes,
                    s.deltaStoredBytes, s.reconnects, s.lastError));
            rpo.received(lsn);
        }

        @Override
        public void handedOver(long lsn) {
            rpo.handedOver(lsn);
        }

        @Override
        public void commit(long endLsn, Instant time) {
            rpo.commit(endLsn, time);
        }

        @Override
        public void archived(WalFile seg) {
            Instant at = clock.instant();
            rpo.archived(seg.endLsn());
            LOG.atDebug().addKeyValue("event", "wal.archived").addKeyValue("slot", slot).addKeyValue("file", seg.name())
                    .log("WAL segment {} archived", seg);
            update(s -> new Status(s.timeline, s.receivedLsn, Math.max(s.archivedLsn, seg.endLsn()), at, s.segments + 1, s.deltas,
                    s.deltaBytes, s.deltaStoredBytes, s.reconnects, s.lastError));
        }

        @Override
        public void archivedDelta(WalFile seg, long endLsn, long bytes, long storedBytes) {
            Instant at = clock.instant();
            rpo.archived(endLsn);
            LOG.atDebug().addKeyValue("event", "wal.delta").addKeyValue("slot", slot).addKeyValue("file", seg.name())
                    .addKeyValue("end.lsn", WalFile.formatLsn(endLsn)).addKeyValue("bytes", bytes).addKeyValue("bytes.stored", storedBytes)
                    .log("WAL delta of {} shipped up to {}", seg, WalFile.formatLsn(endLsn));
            update(s -> new Status(s.timeline, s.receivedLsn, Math.max(s.archivedLsn, endLsn), at, s.segments, s.deltas + 1,
                    s.deltaBytes + bytes, s.deltaStoredBytes + storedBytes, s.reconnects, s.lastError));
        }

        @Override
        public void serverPosition(long lsn) {
            rpo.serverPosition(lsn);
        }
    }

    private synchronized void update(java.util.function.UnaryOperator<Status> f) {
        status = f.apply(status);
    }

    /**
     * Stops receiving: the connection is closed at once, the partial segment stays local and is
     * streamed again by the next receiver (the slot still holds it). Waits up to 10 s for the thread.
     */
    @Override
    public void close() {
        stopping = true;
        ReplicationSession s = session;
        if (s != null) {
            s.stop();
        }
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Drops the replication slot so the server stops keeping WAL for this receiver. */
    public static void dropSlot(PgEndpoint endpoint, String slot) throws SQLException {
        try (Connection c = endpoint.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '"
                    + slot.replace("'", "''") + "'");
        }
    }

    @Override
    public String toString() {
        return "WalReceiver[" + endpoint + ", slot=" + slot + " -> " + archive + "]";
    }

    /** Builder for {@link WalReceiver}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final PgEndpoint endpoint;
        private final WalArchive archive;
        private String slot = "backstop";
        private Path workDir;
        private Duration minBackoff = Duration.ofMillis(200);
        private Duration maxBackoff = Duration.ofSeconds(10);
        private Clock clock = Clock.systemUTC();
        private Duration deltaInterval = DEFAULT_DELTA_INTERVAL;
        private ThreadFactory threadFactory;

        private Builder(PgEndpoint endpoint, WalArchive archive) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
            this.archive = Objects.requireNonNull(archive, "archive");
        }

        /** The physical replication slot (default {@code backstop}); created if missing. */
        public Builder slot(String slot) {
            if (slot == null || !slot.matches("[a-z0-9_]{1,63}")) {
                throw new IllegalArgumentException("slot: got '" + slot + "', need 1..63 of [a-z0-9_] as PostgreSQL slot names");
            }
            this.slot = given.once("slot", this.slot, slot);
            return this;
        }

        /** Where the segment being received is written (required; local durable disk). */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /** Reconnect delays: doubled after each failure from {@code min} up to {@code max}. */
        public Builder backoff(Duration min, Duration max) {
            if (min.isNegative() || min.isZero() || max.compareTo(min) < 0) {
                throw new IllegalArgumentException("backoff: got " + min + ".." + max + ", need 0 < min <= max");
            }
            given.once("backoff", this.minBackoff + ".." + this.maxBackoff, min + ".." + max);
            this.minBackoff = min;
            this.maxBackoff = max;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /**
         * How often the new bytes of the segment being received are archived as a delta object
         * (default {@value #DEFAULT_DELTA_INTERVAL_MILLIS} ms), so a commit reaches the repository
         * within about this interval plus one upload instead of waiting for its 16 MiB segment to
         * fill. The interval is a minimum spacing: nothing is uploaded while no WAL arrives, and
         * while a delta is being stored the next one grows. Each delta is two objects (data, then
         * metadata), so on S3 the interval sets the request rate under load: 200 ms is up to 10 PUTs
         * a second, plus the deletes once the segment is archived whole.
         *
         * @param interval 10 ms .. 1 hour
         */
        public Builder deltaInterval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            if (interval.compareTo(Duration.ofMillis(10)) < 0 || interval.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("deltaInterval: got " + interval + ", need 10 ms .. 1 hour (or noDeltas())");
            }
            given.once("deltaInterval", this.deltaInterval, interval);
            this.deltaInterval = interval;
            return this;
        }

        /** Archives whole segments only: the repository lags by up to one segment (the behaviour before deltas). */
        public Builder noDeltas() {
            given.once("deltaInterval", this.deltaInterval, "none (noDeltas())");
            this.deltaInterval = null;
            return this;
        }

        /**
         * Makes the receiver's threads (default: daemon threads named {@code backstop-wal-*}); it
         * makes up to four, each once per connection at most.
         */
        public Builder threadFactory(ThreadFactory threadFactory) {
            this.threadFactory = given.once("threadFactory", this.threadFactory, threadFactory);
            return this;
        }

        public WalReceiver build() {
            if (workDir == null) {
                throw new IllegalStateException("workDir is not set: the receiver needs a local directory for the segment being received");
            }
            return new WalReceiver(this);
        }
    }
}
