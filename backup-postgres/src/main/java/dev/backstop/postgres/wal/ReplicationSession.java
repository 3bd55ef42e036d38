package dev.backstop.postgres.wal;

import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.internal.RoleThreads;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * One connection's worth of streaming: identify the server, make sure the slot exists, learn the
 * timeline history, resume at the end of the archive and copy the stream into segments until the
 * connection fails, the server moves to another timeline, or {@link #stop()} is called. The
 * {@link WalReceiver} runs sessions one after the other with backoff in between.
 */
final class ReplicationSession {
    private static final long FORCE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long TIMELINE_CHECK_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long POSITION_POLL_MILLIS = 200;

    /** What a session reports as it goes; called from the session's threads, must not block. */
    interface Progress {
        /**
         * Streaming starts on {@code timeline} at {@code start} (a segment boundary); the archive
         * holds WAL up to {@code archived} (past {@code start} where the first segment has deltas).
         */
        void streaming(int timeline, long start, long archived);

        /** WAL up to {@code lsn} is fsynced to the local work directory. */
        void received(long lsn);

        /** A commit record ending at {@code endLsn} with commit time {@code time} arrived. */
        void commit(long endLsn, Instant time);

        /** WAL up to {@code lsn} is handed to the uploader: commits seen so far end at or before it. */
        void handedOver(long lsn);

        /** {@code segment} is stored in the archive (called on the uploader's thread). */
        void archived(WalFile segment);

        /**
         * A delta of {@code segment} ending at {@code endLsn} is stored: {@code bytes} of WAL in
         * {@code storedBytes} (0 if it was there already). Called on the uploader's thread.
         */
        void archivedDelta(WalFile segment, long endLsn, long bytes, long storedBytes);

        /** The server's WAL flush position, polled while streaming. */
        void serverPosition(long lsn);
    }

    private final PgEndpoint endpoint;
    private final WalArchive archive;
    private final String slot;
    private final Path workDir;
    private final Progress progress;
    private final Duration deltaInterval;
    private volatile boolean stopping;
    private volatile Connection connection;
    private final RoleThreads threads;

    /**
     * {@code deltaInterval}: how often the unfinished segment's new bytes are archived as a delta;
     * null for never.
     */
    ReplicationSession(PgEndpoint endpoint, WalArchive archive, String slot, Path workDir, Duration deltaInterval, Progress progress,
            RoleThreads threads) {
        this.threads = threads;
        this.endpoint = endpoint;
        this.archive = archive;
        this.slot = slot;
        this.workDir = workDir;
        this.deltaInterval = deltaInterval;
        this.progress = progress;
    }

    /** Closes the connection at once, interrupting a blocked read; {@link #run()} then returns or throws. */
    void stop() {
        stopping = true;
        Connection c = connection;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing to interrupt a read; the read's own failure is expected and ignored
            }
        }
    }

    void run() throws SQLException, IOException {
        try (Connection c = endpoint.connectForReplication("backstop-wal-receiver")) {
            connection = c;
            if (stopping) {
                return;
            }
            int timeline;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
                rs.next();
                long sysid = Long.parseUnsignedLong(rs.getString("systemid"));
                timeline = rs.getInt("timeline");
                if (sysid != archive.systemId()) {
                    throw new IntegrityException(archive.stream(), "system identifier of " + endpoint,
                            Long.toUnsignedString(archive.systemId()), Long.toUnsignedString(sysid)
                                    + ": this server is another cluster; refusing to stream its WAL into this archive", null, null);
                }
                progress.serverPosition(WalFile.parseLsn(rs.getString("xlogpos")));
            }
            ensureSlot(c);
            Timelines history = history(c, timeline);
            // a receiver stopped between archiving a segment and deleting its deltas left them behind
            archive.deleteSupersededDeltas();
            long start = startLsn(c, history);
            // the segment streaming starts in may have deltas: they are not uploaded again
            long archived = start + archive.deltaEnd(history.segmentAt(start));
            progress.streaming(timeline, start, archived);
            PGReplicationStream stream = c.unwrap(PGConnection.class).getReplicationAPI().replicationStream().physical()
                    .withSlotName(slot).withStartPosition(LogSequenceNumber.valueOf(start))
                    .withStatusInterval(1, TimeUnit.SECONDS).start();
            Thread poller = threads.named("backstop-wal-position-" + slot).newThread(LogContext.propagate(this::pollPosition));
            poller.start();
            try {
                receive(stream, history, start, archived);
            } finally {
                poller.interrupt();
                stream.close();
            }
        } finally {
            connection = null;
        }
    }

    private void ensureSlot(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("CREATE_REPLICATION_SLOT " + slot + " PHYSICAL RESERVE_WAL");
        } catch (SQLException e) {
            if (!"42710".equals(e.getSQLState())) {
                throw e;
            }
        }
    }

    /**
     * Where to resume: the end of the newest archived segment of this timeline, or the start of
     * the segment holding the slot's restart position, whichever is later (both segment starts).
     */
    private long startLsn(Connection c, Timelines history) throws SQLException {
        long restart = 0;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("READ_REPLICATION_SLOT " + slot)) {
            if (rs.next() && rs.getString("restart_lsn") != null) {
                restart = WalFile.parseLsn(rs.getString("restart_lsn"));
            }
        }
        long archived = 0;
        for (WalFile f : archive.files()) {
            if (f.kind() == WalFile.Kind.SEGMENT && history.contains(f.timeline())) {
                archived = Math.max(archived, f.endLsn());
            }
        }
        long fromSlot = restart - restart % WalFile.SEGMENT_BYTES;
        return Math.max(archived, fromSlot);
    }

    /**
     * The timeline the server is on and where each of its ancestors ended, from {@code
     * TIMELINE_HISTORY}; the history file is archived too, as recovery across the switch needs it.
     */
    private Timelines history(Connection c, int timeline) throws SQLException, IOException {
        if (timeline == 1) {
            return new Timelines(1, new long[] {0});
        }
        byte[] content;
        String name;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("TIMELINE_HISTORY " + timeline)) {
            rs.next();
            name = rs.getString(1);
            content = rs.getBytes(2);
        }
        Path file = Files.createDirectories(workDir).resolve(name);
        Files.write(file, content);
        archive.put(file, name);
        Files.delete(file);
        return Timelines.parse(timeline, new String(content, StandardCharsets.UTF_8));
    }

    /** A newer timeline on the server while the stream is idle: PgJDBC stalls there instead of ending the stream. */
    private int serverTimeline() throws SQLException {
        try (Connection c = endpoint.connectForReplication(null);
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            return rs.getInt("timeline");
        }
    }

    /**
     * Polls the server's flush position for the RPO view on a connection of its own: PgJDBC keeps
     * the position the server's keepalives carry to itself. A failed poll only leaves the last
     * position standing; the stream's own errors decide whether the session ends.
     */
    private void pollPosition() {
        Connection c = null;
        try {
            while (!stopping && !Thread.currentThread().isInterrupted()) {
                try {
                    if (c == null) {
                        c = endpoint.connectForReplication("backstop-wal-position");
                    }
                    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
                        rs.next();
                        progress.serverPosition(WalFile.parseLsn(rs.getString("xlogpos")));
                    }
                } catch (SQLException e) {
                    closeQuietly(c);
                    c = null;
                }
                Backoff.Pause.SLEEP.pause(Duration.ofMillis(POSITION_POLL_MILLIS));
            }
        } catch (InterruptedException e) {
            // the session is over
        } finally {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // a poller connection that fails to close has nothing left to tell
            }
        }
    }

    private void receive(PGReplicationStream stream, Timelines history, long start, long archived) throws SQLException, IOException {
        int timeline = history.current();
        long idleSince = System.nanoTime();
        long reportedFlush = start;
        long lastForce = System.nanoTime();
        long deltaNanos = deltaInterval == null ? -1 : deltaInterval.toNanos();
        long lastDelta = System.nanoTime() - Math.max(0, deltaNanos);
        long[] handedOver = {archived};
        Instant[] lastCommit = {null};
        CommitScanner commits = new CommitScanner(start, (lsn, t) -> {
            lastCommit[0] = t;
            progress.commit(lsn, t);
        });
        SegmentUploader uploader = new SegmentUploader(archive, slot, deltaNanos >= 0, progress, threads);
        SegmentWriter writer = new SegmentWriter(workDir, history, start);
        try {
            while (!stopping) {
                uploader.rethrow();
                long durable = uploader.durable(reportedFlush);
                if (durable > reportedFlush) {
                    LogSequenceNumber flushed = LogSequenceNumber.valueOf(durable);
                    stream.setFlushedLSN(flushed);
                    stream.setAppliedLSN(flushed);
                    stream.forceUpdateStatus();
                    reportedFlush = durable;
                }
                ByteBuffer buf = stream.readPending();
                if (buf == null || System.nanoTime() - lastForce > FORCE_INTERVAL_NANOS) {
                    if (writer.force()) {
                        progress.received(writer.written());
                    }
                    lastForce = System.nanoTime();
                }
                if (deltaNanos >= 0 && System.nanoTime() - lastDelta >= deltaNanos) {
                    WalFile seg = writer.segment();
                    long from = Math.max(handedOver[0], seg.startLsn());
                    long to = writer.written();
                    // the interval is a minimum spacing: while a delta is being stored, the next one grows
                    if (to > from && uploader.submitDelta(seg, from - seg.startLsn(), to - seg.startLsn(), writer.openForReading(),
                            lastCommit[0])) {
                        handedOver[0] = to;
                        progress.handedOver(to);
                        lastDelta = System.nanoTime();
                    }
                }
                if (buf == null) {
                    if (System.nanoTime() - idleSince > TIMELINE_CHECK_NANOS) {
                        int now = serverTimeline();
                        if (now != timeline) {
                            throw new IOException("the server switched from timeline " + timeline + " to " + now
                                    + "; resuming on the new timeline");
                        }
                        idleSince = System.nanoTime();
                    }
                    sleep(2);
                    continue;
                }
                idleSince = System.nanoTime();
                // for physical streams PgJDBC reports the end of the message's data, not its start
                long lsn = stream.getLastReceiveLSN().asLong() - buf.remaining();
                if (lsn != writer.written()) {
                    throw new IOException("replication stream jumped from " + WalFile.formatLsn(writer.written()) + " to "
                            + WalFile.formatLsn(lsn) + " on timeline " + timeline + "; reconnecting");
                }
                // scanned and written piece by piece, never across a segment end, so that when a
                // segment is handed over every commit seen ends inside it or before
                while (buf.hasRemaining()) {
                    ByteBuffer piece = buf.slice();
                    piece.limit((int) Math.min(piece.remaining(), writer.segment().endLsn() - writer.written()));
                    buf.position(buf.position() + piece.remaining());
                    commits.feed(piece.duplicate());
                    writer.write(piece, (file, seg) -> {
                        progress.received(seg.endLsn());
                        progress.handedOver(seg.endLsn());
                        uploader.submit(file, seg, Math.max(handedOver[0], seg.startLsn()) - seg.startLsn(), lastCommit[0]);
                        handedOver[0] = seg.endLsn();
                    });
                }
            }
        } finally {
            writer.close();
            uploader.finish();
        }
    }

    private static void sleep(long millis) {
        try {
            Backoff.Pause.SLEEP.pause(Duration.ofMillis(millis));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
