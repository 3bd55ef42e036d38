package dev.backstop.postgres.wal;

import dev.backstop.core.BackupException;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Stage;
import dev.backstop.postgres.PgEndpoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

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
 * only when a whole segment is stored in the archive, so after a crash or a kill the receiver
 * resumes from the end of the archive and leaves no gap. Segments are written to a local
 * {@code <name>.partial} file at their offset and archived under their own name once complete;
 * the bytes are those the server sent, as pg_receivewal writes them. A separate thread archives
 * completed segments so that reading never waits for storage; the local write is fsynced at
 * least every 100 ms under load and whenever the stream goes idle ({@link Status#receivedLsn()}). A server whose system
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
 * safe from any thread; {@link #close()} stops it and waits.
 */
public final class WalReceiver implements AutoCloseable {
    private static final long FORCE_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int MAX_PENDING = 4;
    private static final long TIMELINE_CHECK_NANOS = TimeUnit.SECONDS.toNanos(1);
    private final PgEndpoint endpoint;
    private final WalArchive archive;
    private final String slot;
    private final Path workDir;
    private final Duration minBackoff;
    private final Duration maxBackoff;
    private final Clock clock;
    private final Thread thread;
    private volatile boolean stopping;
    private volatile Connection connection;
    private volatile Status status = new Status(0, 0, 0, null, 0, 0, null);

    private WalReceiver(Builder b) {
        this.endpoint = b.endpoint;
        this.archive = b.archive;
        this.slot = b.slot;
        this.workDir = b.workDir;
        this.minBackoff = b.minBackoff;
        this.maxBackoff = b.maxBackoff;
        this.clock = b.clock;
        this.thread = new Thread(this::run, "backstop-wal-receiver-" + slot);
        thread.setDaemon(true);
    }

    public static Builder builder(PgEndpoint endpoint, WalArchive archive) {
        return new Builder(endpoint, archive);
    }

    /**
     * What the receiver has done so far.
     *
     * @param timeline      the timeline being streamed (0 before the first connection)
     * @param receivedLsn   the end of the WAL written and fsynced to the local partial segment
     * @param archivedLsn   the end of the last segment stored in the archive (= flush reported to the server)
     * @param archivedAt    when that segment was stored
     * @param segments      segments archived by this receiver
     * @param reconnects    connections lost and retried
     * @param lastError     the last connection or storage error, or null
     */
    public record Status(int timeline, long receivedLsn, long archivedLsn, Instant archivedAt, long segments, long reconnects,
                         String lastError) {
    }

    public Status status() {
        return status;
    }

    /** Starts receiving on the receiver's own thread. Call once. */
    public void start() {
        thread.start();
    }

    private void run() {
        long backoff = minBackoff.toMillis();
        while (!stopping) {
            try {
                session();
                backoff = minBackoff.toMillis();
            } catch (IntegrityException e) {
                update(s -> new Status(s.timeline, s.receivedLsn, s.archivedLsn, s.archivedAt, s.segments, s.reconnects,
                        e.getMessage()));
                return;
            } catch (SQLException | IOException | BackupException e) {
                if (stopping) {
                    return;
                }
                update(s -> new Status(s.timeline, s.receivedLsn, s.archivedLsn, s.archivedAt, s.segments, s.reconnects + 1,
                        String.valueOf(e.getMessage())));
                sleep(backoff);
                backoff = Math.min(backoff * 2, maxBackoff.toMillis());
            }
        }
    }

    private void session() throws SQLException, IOException {
        Properties p = new Properties();
        p.setProperty("user", endpoint.user());
        if (endpoint.password() != null) {
            p.setProperty("password", endpoint.password());
        }
        p.setProperty("replication", "true");
        p.setProperty("assumeMinServerVersion", "10");
        p.setProperty("preferQueryMode", "simple");
        p.setProperty("ApplicationName", "backstop-wal-receiver");
        p.setProperty("connectTimeout", "10");
        try (Connection c = DriverManager.getConnection(endpoint.jdbcUrl("postgres"), p)) {
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
            }
            ensureSlot(c);
            Timelines history = history(c, timeline);
            long start = startLsn(c, history);
            int tli = timeline;
            update(s -> new Status(tli, Math.max(s.receivedLsn, start), Math.max(s.archivedLsn, start), s.archivedAt,
                    s.segments, s.reconnects, s.lastError));
            PGReplicationStream stream = c.unwrap(PGConnection.class).getReplicationAPI().replicationStream().physical()
                    .withSlotName(slot).withStartPosition(LogSequenceNumber.valueOf(start))
                    .withStatusInterval(1, TimeUnit.SECONDS).start();
            try {
                receive(stream, history, start);
            } finally {
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
        return Timelines.parse(timeline, new String(content, java.nio.charset.StandardCharsets.UTF_8));
    }

    /**
     * Timelines 1..current of one history and the LSN each began at. A segment is named after
     * the newest timeline that began before the segment ends, as PostgreSQL names the files it
     * looks for during recovery.
     */
    record Timelines(int current, long[] begins) {
        static Timelines parse(int current, String history) {
            long[] begins = new long[current];
            for (String line : history.split("\n")) {
                String[] f = line.strip().split("\\s+");
                if (f.length >= 2 && f[0].matches("\\d+")) {
                    int parent = Integer.parseInt(f[0]);
                    if (parent >= 1 && parent < current) {
                        begins[parent] = WalFile.parseLsn(f[1]);
                    }
                }
            }
            return new Timelines(current, begins);
        }

        boolean contains(int timeline) {
            return timeline >= 1 && timeline <= current;
        }

        int owner(long segmentStart) {
            for (int t = current; t > 1; t--) {
                if (begins[t - 1] < segmentStart + WalFile.SEGMENT_BYTES) {
                    return t;
                }
            }
            return 1;
        }

        WalFile segmentAt(long lsn) {
            return WalFile.segmentOf(owner(lsn - Long.remainderUnsigned(lsn, WalFile.SEGMENT_BYTES)), lsn);
        }
    }

    /** A newer timeline on the server while the stream is idle: PgJDBC stalls there instead of ending the stream. */
    private int serverTimeline() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", endpoint.user());
        if (endpoint.password() != null) {
            p.setProperty("password", endpoint.password());
        }
        p.setProperty("replication", "true");
        p.setProperty("assumeMinServerVersion", "10");
        p.setProperty("preferQueryMode", "simple");
        p.setProperty("connectTimeout", "10");
        try (Connection c = DriverManager.getConnection(endpoint.jdbcUrl("postgres"), p); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            return rs.getInt("timeline");
        }
    }

    private void receive(PGReplicationStream stream, Timelines history, long start) throws SQLException, IOException {
        Files.createDirectories(workDir);
        int timeline = history.current();
        long idleSince = System.nanoTime();
        WalFile seg = history.segmentAt(start);
        Path partial = workDir.resolve(seg.name() + ".partial");
        FileChannel ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        long written = start;
        long reportedFlush = start;
        long lastForce = System.nanoTime();
        boolean dirty = false;
        Uploader uploader = new Uploader();
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
                    if (dirty) {
                        ch.force(false);
                        dirty = false;
                        long received = written;
                        update(s -> new Status(s.timeline, received, s.archivedLsn, s.archivedAt, s.segments, s.reconnects, s.lastError));
                    }
                    lastForce = System.nanoTime();
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
                if (lsn != written) {
                    throw new IOException("replication stream jumped from " + WalFile.formatLsn(written) + " to "
                            + WalFile.formatLsn(lsn) + " on timeline " + timeline + "; reconnecting");
                }
                while (buf.hasRemaining()) {
                    long room = seg.endLsn() - written;
                    int n = (int) Math.min(room, buf.remaining());
                    ByteBuffer part = buf.slice();
                    part.limit(n);
                    long pos = written - seg.startLsn();
                    while (part.hasRemaining()) {
                        pos += ch.write(part, pos);
                    }
                    buf.position(buf.position() + n);
                    written += n;
                    dirty = true;
                    if (written == seg.endLsn()) {
                        ch.force(false);
                        ch.close();
                        dirty = false;
                        long received = written;
                        update(s -> new Status(s.timeline, received, s.archivedLsn, s.archivedAt, s.segments, s.reconnects, s.lastError));
                        Path done = workDir.resolve(seg.name());
                        Files.move(partial, done, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                        uploader.submit(done, seg);
                        seg = history.segmentAt(seg.endLsn());
                        partial = workDir.resolve(seg.name() + ".partial");
                        ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                                StandardOpenOption.TRUNCATE_EXISTING);
                    }
                }
            }
        } finally {
            ch.close();
            uploader.finish();
        }
    }

    /**
     * Archives completed segments in order on a thread of its own, so replication keeps reading
     * while a segment is compressed, encrypted and stored; at most {@value #MAX_PENDING} wait.
     */
    private final class Uploader {
        private final java.util.concurrent.ExecutorService executor = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "backstop-wal-upload-" + slot);
            t.setDaemon(true);
            return t;
        });
        private final java.util.concurrent.Semaphore room = new java.util.concurrent.Semaphore(MAX_PENDING);
        private final java.util.concurrent.atomic.AtomicLong durable = new java.util.concurrent.atomic.AtomicLong();
        private final java.util.concurrent.atomic.AtomicReference<RuntimeException> failure = new java.util.concurrent.atomic.AtomicReference<>();

        void submit(Path file, WalFile seg) throws IOException {
            try {
                room.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting to archive " + seg, e);
            }
            executor.execute(() -> {
                try {
                    if (failure.get() == null) {
                        archive.put(file, seg.name());
                        Files.delete(file);
                        durable.set(seg.endLsn());
                        Instant at = clock.instant();
                        update(s -> new Status(s.timeline, s.receivedLsn, seg.endLsn(), at, s.segments + 1, s.reconnects, s.lastError));
                    }
                } catch (IOException e) {
                    failure.compareAndSet(null, new java.io.UncheckedIOException(e));
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, e);
                } finally {
                    room.release();
                }
            });
        }

        long durable(long floor) {
            return Math.max(floor, durable.get());
        }

        void rethrow() throws IOException {
            RuntimeException e = failure.get();
            if (e instanceof java.io.UncheckedIOException u) {
                throw u.getCause();
            }
            if (e != null) {
                throw e;
            }
        }

        /** Waits for queued segments, so a new session never archives the same segment concurrently. */
        void finish() throws IOException {
            executor.shutdown();
            try {
                if (!executor.awaitTermination(10, TimeUnit.MINUTES)) {
                    throw new IOException("archiving queued WAL segments took over 10 minutes");
                }
            } catch (InterruptedException e) {
                executor.shutdownNow();
                Thread.currentThread().interrupt();
            }
            rethrow();
        }
    }

    private synchronized void update(java.util.function.UnaryOperator<Status> f) {
        status = f.apply(status);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops receiving: the connection is closed at once, the partial segment stays local and is
     * streamed again by the next receiver (the slot still holds it). Waits up to 10 s for the thread.
     */
    @Override
    public void close() {
        stopping = true;
        Connection c = connection;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing to interrupt a read; the read's own failure is expected and ignored
            }
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
        private final PgEndpoint endpoint;
        private final WalArchive archive;
        private String slot = "backstop";
        private Path workDir;
        private Duration minBackoff = Duration.ofMillis(200);
        private Duration maxBackoff = Duration.ofSeconds(10);
        private Clock clock = Clock.systemUTC();

        private Builder(PgEndpoint endpoint, WalArchive archive) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
            this.archive = Objects.requireNonNull(archive, "archive");
        }

        /** The physical replication slot (default {@code backstop}); created if missing. */
        public Builder slot(String slot) {
            if (slot == null || !slot.matches("[a-z0-9_]{1,63}")) {
                throw new IllegalArgumentException("slot: got '" + slot + "', need 1..63 of [a-z0-9_] as PostgreSQL slot names");
            }
            this.slot = slot;
            return this;
        }

        /** Where the segment being received is written (required; local durable disk). */
        public Builder workDir(Path workDir) {
            this.workDir = Objects.requireNonNull(workDir, "workDir");
            return this;
        }

        /** Reconnect delays: doubled after each failure from {@code min} up to {@code max}. */
        public Builder backoff(Duration min, Duration max) {
            if (min.isNegative() || min.isZero() || max.compareTo(min) < 0) {
                throw new IllegalArgumentException("backoff: got " + min + ".." + max + ", need 0 < min <= max");
            }
            this.minBackoff = min;
            this.maxBackoff = max;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
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
