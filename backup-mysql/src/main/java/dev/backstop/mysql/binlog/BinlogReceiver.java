package dev.backstop.mysql.binlog;

import dev.backstop.mysql.internal.OptionFile;
import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.log.LogFile;
import dev.backstop.core.source.CommandSource.StderrTail;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbTools;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows a MariaDB server's binary log as a replica would, with {@code mariadb-binlog
 * --read-from-remote-server --raw --stop-never}, and archives every completed file through a
 * {@link BinlogArchive}.
 *
 * <pre>{@code
 * try (BinlogReceiver r = BinlogReceiver.builder(endpoint, archive, spoolDir).build()) {
 *     r.start();
 *     ...
 *     BinlogRpo rpo = r.rpo();
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> The tool writes the server's files into the spool directory; a file is
 * complete when the next one appears there, and then it is archived whole (checked to be a binlog
 * of the archive's server id), its deltas deleted, and the local copy deleted. Meanwhile the bytes
 * of the file being written are archived as delta objects every poll interval (unless {@link
 * Builder#noDeltas()}), so a commit is in the repository about one interval after the tool
 * received it. The tool starts at the file after the newest one archived whole, of the starting
 * file's base name, so a receiver restarted after a crash, or the tool restarted after it exited,
 * continues without a gap; with nothing archived it starts at the {@link Builder#startFile given
 * file}, else at the server's oldest binlog ({@code SHOW BINARY LOGS}). When the tool exits, or the
 * server cannot be reached to find the start file, it is started again after a back-off ({@link
 * Builder#restartDelays}, reset once something is archived again); the exit status and last line of
 * output are in {@link #lastFailure()}. A failure to archive (a binlog of another server, a
 * repository error) stops the receiver: it is in {@link #lastFailure()} and {@link #isRunning()}
 * turns false; nothing is skipped.
 *
 * <p><b>Restrictions.</b> Needs {@code mariadb-binlog} (MariaDbTools) and an account with {@code
 * REPLICATION SLAVE} (and {@code REPLICATION CLIENT} or {@code BINLOG MONITOR} for the start
 * file). The connection settings go through a private option file given as {@code
 * --defaults-file=} (read instead of every option file of the machine, so no other defaults apply;
 * group {@code [mariadb-binlog]}), created 0600 in the spool directory and deleted on close.
 * One receiver per archive and per spool directory.
 *
 * <p><b>Threading.</b> {@link #start()} runs one supervising thread from the {@link
 * Builder#threadFactory thread factory}; {@link #rpo()} and {@link #close()} may be called from
 * any thread.
 */
public final class BinlogReceiver implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BinlogReceiver.class);
    // Past 400 lines because of its builder (each setting validated once); the supervising loop,
    // the spool scan and the deltas are one job each below.
    private final MariaDbEndpoint endpoint;
    private final BinlogArchive archive;
    private final Path spool;
    private final MariaDbTools tools;
    private final String startFile;
    private final Backoff backoff;
    private final Duration pollInterval;
    private final Clock clock;
    private final ThreadFactory threadFactory;

    private final Object lock = new Object();
    private Thread thread;
    private Process process;
    /** What the running tool prints, logged line by line as it prints it; set with the process. */
    private StderrTail output;
    private volatile boolean closed;
    private volatile String archivedFile;
    private volatile long archivedPosition;
    private volatile Instant archivedAt;
    private volatile String localFile;
    private volatile long localPosition;
    private volatile long pendingCompleted;
    private volatile int restarts;
    private volatile String lastFailure;
    private volatile boolean failed;
    private final boolean deltas;
    /** The active file whose delta run {@link #deltaEnd} is; touched by the supervising thread only. */
    private String deltaFile;
    private long deltaEnd;

    private BinlogReceiver(Builder b) {
        this.endpoint = b.endpoint;
        this.archive = b.archive;
        this.spool = b.spool;
        this.tools = b.tools;
        this.startFile = b.startFile;
        this.backoff = b.backoff;
        this.pollInterval = b.pollInterval;
        this.clock = b.clock;
        this.threadFactory = b.threadFactory;
        this.deltas = b.deltas;
    }

    /** A receiver of {@code endpoint}'s binlogs into {@code archive}, spooling files in {@code spool}. */
    public static Builder builder(MariaDbEndpoint endpoint, BinlogArchive archive, Path spool) {
        return new Builder(endpoint, archive, spool);
    }

    /**
     * Starts receiving on a thread of its own.
     *
     * @throws IllegalStateException if started already or closed
     */
    public void start() {
        synchronized (lock) {
            if (thread != null || closed) {
                throw new IllegalStateException("binlog receiver: " + (closed ? "closed" : "started already"));
            }
            thread = threadFactory.newThread(LogContext.propagate(this::supervise));
            thread.start();
        }
    }

    /** Whether the receiver is started, not closed and has not stopped on an archiving failure. */
    public boolean isRunning() {
        synchronized (lock) {
            return thread != null && !closed && !failed;
        }
    }

    /** The last exit of the tool or archiving failure, or null if none. */
    public String lastFailure() {
        return lastFailure;
    }

    /** Where the archive and the local spool stand now. */
    public BinlogRpo rpo() {
        Instant now = clock.instant();
        Instant at = archivedAt;
        String archived = archivedFile;
        long position = archivedPosition;
        String active = localFile;
        long local = localPosition;
        long unarchived = active != null && active.equals(archived) ? Math.max(0, local - position) : local;
        return new BinlogRpo(archived, position, active, local, unarchived + pendingCompleted,
                at == null ? Duration.ZERO : Duration.between(at, now), restarts, now);
    }

    /** The process id of the running tool, or -1 while none runs. */
    long toolPid() {
        synchronized (lock) {
            return process != null && process.isAlive() ? process.pid() : -1;
        }
    }

    /** Stops the tool (killed: it holds nothing that needs a clean exit) and the supervising thread. Idempotent. */
    @Override
    public void close() {
        Thread t;
        synchronized (lock) {
            closed = true;
            if (process != null) {
                process.destroyForcibly();
            }
            t = thread;
        }
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "BinlogReceiver[" + endpoint + " -> " + archive + ", spool " + spool + "]";
    }

    private void supervise() {
        int failures = 0;
        boolean firstRun = true;
        try (OptionFile options = OptionFile.create(endpoint, spool, "mariadb-binlog")) {
            while (!closed) {
                String from;
                Process p;
                try {
                    from = resumeFile();
                    p = launch(options, from);
                } catch (BackupException | IOException e) {
                    if (closed) {
                        break;
                    }
                    // the server is unreachable or the tool missing: as retryable as the tool's own exit
                    lastFailure = "could not start mariadb-binlog: " + e.getMessage();
                    LOG.atWarn().addKeyValue("event", "binlog.unreachable").addKeyValue("failures", failures + 1)
                            .log("binlog receiver: {}; trying again", lastFailure);
                    backoff.pause(++failures);
                    continue;
                }
                if (!firstRun) {
                    restarts++;
                }
                LOG.atInfo().addKeyValue("event", firstRun ? "binlog.connected" : "binlog.reconnected").addKeyValue("file", from)
                        .addKeyValue("restarts", restarts).log("binlog receiver reading from {}", from);
                firstRun = false;
                String before = archivedFile;
                while (p.isAlive() && !closed) {
                    archiveCompleted();
                    p.waitFor(pollInterval.toMillis(), TimeUnit.MILLISECONDS);
                }
                archiveCompleted();
                if (closed) {
                    break;
                }
                lastFailure = "mariadb-binlog exited with status " + p.exitValue() + " reading from " + from + ": "
                        + lastLine(output.await());
                failures = Objects.equals(before, archivedFile) ? failures + 1 : 1;
                LOG.atWarn().addKeyValue("event", "binlog.disconnected").addKeyValue("exit.code", p.exitValue())
                        .addKeyValue("failures", failures).log("binlog receiver: {}; restarting", lastFailure);
                backoff.pause(failures);
            }
        } catch (InterruptedException e) {
            // closed while waiting
        } catch (IOException | RuntimeException e) {
            if (!closed) {
                lastFailure = "binlog receiver stopped: " + e.getMessage();
                failed = true;
                LOG.atError().addKeyValue("event", "binlog.stopped").log("{}", lastFailure);
            }
        } finally {
            synchronized (lock) {
                if (process != null) {
                    process.destroyForcibly();
                }
            }
        }
    }

    /** The file after the newest archived one of the start's base name; else the start file, else the server's oldest. */
    private String resumeFile() {
        String first = startFile != null ? startFile : serverOldest();
        String base = BinlogArchive.file(first).epoch();
        String last = null;
        for (String f : archive.files()) {
            if (BinlogArchive.file(f).epoch().equals(base)) {
                last = f;
            }
        }
        if (last != null && archivedFile == null) {
            archivedFile = last;
            archivedPosition = archive.metadata(last).map(m -> m.plaintextSize()).orElse(0L);
        }
        return last == null ? first : BinlogArchive.next(last);
    }

    private String serverOldest() {
        try (Connection c = endpoint.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW BINARY LOGS")) {
            if (!rs.next()) {
                throw new BackupException(Stage.CAPTURE, "SHOW BINARY LOGS on " + endpoint + " returned no file: is log_bin on?",
                        null);
            }
            return rs.getString(1);
        } catch (SQLException e) {
            throw new BackupException(Stage.CAPTURE, "could not list the binlogs of " + endpoint + ": " + e.getMessage(), e);
        }
    }

    private Process launch(OptionFile options, String from) throws IOException {
        List<String> cmd = List.of(tools.tool("mariadb-binlog").toString(), options.argument(), "--read-from-remote-server",
                "--raw", "--stop-never", "--result-file=" + spool + File.separator, from);
        synchronized (lock) {
            if (closed) {
                throw new InterruptedIOException();
            }
            process = new ProcessBuilder(cmd).directory(spool.toFile()).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            output = StderrTail.logged(process.getInputStream(), "mariadb-binlog");
            return process;
        }
    }

    /** Archives every spooled file but the newest (which the tool is still writing), oldest first. */
    private void archiveCompleted() throws IOException {
        List<Path> files = spooled();
        long pending = 0;
        for (int i = 0; i < files.size() - 1; i++) {
            pending += Files.size(files.get(i));
        }
        pendingCompleted = pending;
        for (int i = 0; i < files.size() - 1; i++) {
            Path f = files.get(i);
            String name = f.getFileName().toString();
            long size = Files.size(f);
            archive.put(f, name);
            archive.deleteDeltas(name);
            Files.delete(f);
            deltaFile = null;
            archivedFile = name;
            archivedPosition = size;
            archivedAt = clock.instant();
            pendingCompleted = Math.max(0, pendingCompleted - size);
            LOG.atDebug().addKeyValue("event", "binlog.archived").addKeyValue("file", name).addKeyValue("bytes", size)
                    .log("binlog {} archived", name);
        }
        if (files.isEmpty()) {
            localFile = null;
            localPosition = 0;
        } else {
            Path active = files.get(files.size() - 1);
            String name = active.getFileName().toString();
            long size = Files.size(active);
            localFile = name;
            localPosition = size;
            if (deltas) {
                shipDelta(active, name, size);
            }
        }
    }

    /**
     * Archives the bytes of the active file received since its last delta. The resume point comes
     * from the archive's listing once per file, so a restarted receiver (whose tool rewrites the
     * file from offset 0 with the same bytes) continues the run instead of repeating it.
     */
    private void shipDelta(Path active, String name, long size) {
        if (!name.equals(deltaFile)) {
            deltaFile = name;
            deltaEnd = archive.deltaEnd(name);
        }
        long from = deltaEnd;
        if (size <= from || from == 0 && size < BinlogArchive.MAGIC.length + BinlogArchive.EVENT_HEADER) {
            return;
        }
        archive.putDelta(name, from, size, active);
        LOG.atDebug().addKeyValue("event", "binlog.delta").addKeyValue("file", name).addKeyValue("from", from)
                .addKeyValue("to", size).log("binlog delta of {} shipped up to {}", name, size);
        deltaEnd = size;
        archivedFile = name;
        archivedPosition = size;
        archivedAt = clock.instant();
    }

    private List<Path> spooled() throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(spool)) {
            s.filter(p -> isBinlogName(p.getFileName().toString()) && Files.isRegularFile(p)).forEach(out::add);
        }
        out.sort(Comparator.comparing((Path p) -> BinlogArchive.file(p.getFileName().toString()).epoch())
                .thenComparingLong(p -> BinlogArchive.file(p.getFileName().toString()).start()));
        return out;
    }

    private static boolean isBinlogName(String name) {
        try {
            LogFile ignored = BinlogArchive.file(name);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String lastLine(String output) {
        List<String> lines = output.lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1).strip();
    }

    /** Thrown inside {@link #launch} when the receiver was closed meanwhile. */
    private static final class InterruptedIOException extends IOException {
        private static final long serialVersionUID = 1L;

        InterruptedIOException() {
            super("binlog receiver closed");
        }
    }

    /** Builder for {@link BinlogReceiver}; not thread-safe; each setting once. */
    public static final class Builder {
        private final MariaDbEndpoint endpoint;
        private final BinlogArchive archive;
        private final Path spool;
        private MariaDbTools tools = MariaDbTools.locate();
        private boolean toolsSet;
        private String startFile;
        private Backoff backoff = Backoff.builder(Duration.ofMillis(200), Duration.ofSeconds(30)).build();
        private boolean backoffSet;
        private Duration pollInterval = Duration.ofMillis(200);
        private boolean pollSet;
        private Clock clock = Clock.systemUTC();
        private boolean clockSet;
        private ThreadFactory threadFactory = r -> {
            Thread t = new Thread(r, "backstop-binlog-receiver");
            t.setDaemon(true);
            return t;
        };
        private boolean threadFactorySet;
        private boolean deltas = true;

        private Builder(MariaDbEndpoint endpoint, BinlogArchive archive, Path spool) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
            this.archive = Objects.requireNonNull(archive, "archive");
            this.spool = Objects.requireNonNull(spool, "spool").toAbsolutePath();
        }

        /** Where {@code mariadb-binlog} is found (default: searched on PATH). */
        public Builder tools(MariaDbTools tools) {
            if (toolsSet) {
                throw new IllegalStateException("tools: already set to " + this.tools);
            }
            this.tools = Objects.requireNonNull(tools, "tools");
            this.toolsSet = true;
            return this;
        }

        /**
         * The file to start from when nothing of its base name is archived yet (default: the
         * server's oldest binlog); its base name is the one followed.
         */
        public Builder startFile(String name) {
            if (startFile != null) {
                throw new IllegalStateException("startFile: already set to " + startFile);
            }
            BinlogArchive.file(name);
            this.startFile = name;
            return this;
        }

        /**
         * The wait before the tool is started again after it exited: {@code first} doubling to
         * {@code max} with jitter while it keeps failing, back to {@code first} once a file is
         * archived (default 200 ms to 30 s).
         */
        public Builder restartDelays(Duration first, Duration max) {
            if (backoffSet) {
                throw new IllegalStateException("restartDelays: already set to " + this.backoff);
            }
            this.backoff = Backoff.builder(first, max).build();
            this.backoffSet = true;
            return this;
        }

        /**
         * Archives only whole files: the file being written reaches the repository when it is
         * complete. By default it is also archived as deltas every {@link #pollInterval poll interval}.
         */
        public Builder noDeltas() {
            if (!deltas) {
                throw new IllegalStateException("noDeltas: already set");
            }
            this.deltas = false;
            return this;
        }

        /**
         * How often the spool directory is looked at for completed files and new bytes of the
         * active one (shipped as a delta), 10 ms..1 min (default 200 ms).
         */
        public Builder pollInterval(Duration interval) {
            if (pollSet) {
                throw new IllegalStateException("pollInterval: already set to " + pollInterval);
            }
            if (interval.compareTo(Duration.ofMillis(10)) < 0 || interval.compareTo(Duration.ofMinutes(1)) > 0) {
                throw new IllegalArgumentException("pollInterval: got " + interval + ", must be 10 ms..1 min");
            }
            this.pollInterval = interval;
            this.pollSet = true;
            return this;
        }

        /** The clock of {@link BinlogRpo} (default the system's UTC clock). */
        public Builder clock(Clock clock) {
            if (clockSet) {
                throw new IllegalStateException("clock: already set");
            }
            this.clock = Objects.requireNonNull(clock, "clock");
            this.clockSet = true;
            return this;
        }

        /** Makes the supervising thread (default: a daemon thread named backstop-binlog-receiver). */
        public Builder threadFactory(ThreadFactory threadFactory) {
            if (threadFactorySet) {
                throw new IllegalStateException("threadFactory: already set");
            }
            this.threadFactory = Objects.requireNonNull(threadFactory, "threadFactory");
            this.threadFactorySet = true;
            return this;
        }

        /**
         * The receiver; creates the spool directory if needed.
         *
         * @throws UncheckedIOException if the spool directory cannot be created
         */
        public BinlogReceiver build() {
            try {
                Files.createDirectories(spool);
            } catch (IOException e) {
                throw new UncheckedIOException("could not create the spool directory " + spool, e);
            }
            return new BinlogReceiver(this);
        }
    }
}
