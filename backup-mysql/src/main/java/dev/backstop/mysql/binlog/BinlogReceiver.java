package dev.backstop.mysql.binlog;

import dev.backstop.mysql.internal.OptionFile;
import dev.backstop.core.BackupException;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbTools;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
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
 * continues without a gap. A receiver whose JVM died without closing it (killed with SIGKILL,
 * crashed) leaves its tool running; the next receiver of the same spool directory ends that tool
 * (known by the process id and start time it recorded in the spool) and archives the files it left
 * complete before its own tool rewrites the newest one, so nothing is received twice into one file
 * and no file is archived half rewritten. With nothing archived it starts at the {@link Builder#startFile given
 * file}, else at the server's oldest binlog ({@code SHOW BINARY LOGS}). Before each start the
 * server is asked for its server id and its files: a server whose id is not the archive's is
 * refused, and a file the archive needs that the server no longer has (purged while no receiver
 * ran, or before it caught up) is a {@link #gap()} that stops the receiver, never a silent restart
 * from the server's oldest file ({@link Builder#acceptGaps()} records it and goes on);
 * {@link #continuousFrom()} says from where the archive is continuous. When the tool exits, or the
 * server cannot be reached to find the start file, it is started again after a back-off ({@link
 * Builder#restartDelays}, reset once something is archived again); the exit status and last line of
 * output are in {@link #lastFailure()}. A failure to archive (a binlog of another server, a
 * repository error) stops the receiver: it is in {@link #lastFailure()} and {@link #isRunning()}
 * turns false; nothing is skipped.
 *
 * <p><b>Restrictions.</b> Needs {@code mariadb-binlog} (MariaDbTools) and an account with {@code
 * REPLICATION SLAVE} and {@code REPLICATION CLIENT} or {@code BINLOG MONITOR} (for {@code SHOW
 * BINARY LOGS}). The connection settings go through a private option file given as {@code
 * --defaults-file=} (read instead of every option file of the machine, so no other defaults apply;
 * group {@code [mariadb-binlog]}), created 0600 in the spool directory and deleted on close.
 * One receiver per archive and per spool directory.
 *
 * <p>Past 400 lines for its builder (each setting checked once); what to receive and ship is
 * {@code BinlogShipper}'s job, the tool's command line {@code BinlogTool}'s.
 *
 * <p><b>Threading.</b> {@link #start()} runs one supervising thread from the {@link
 * Builder#threadFactory thread factory}; {@link #rpo()} and {@link #close()} may be called from
 * any thread.
 */
public final class BinlogReceiver implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BinlogReceiver.class);
    private final MariaDbEndpoint endpoint;
    private final BinlogArchive archive;
    private final Path spool;
    private final BinlogTool tool;
    private final Backoff backoff;
    private final Duration pollInterval;
    private final ThreadFactory threadFactory;

    private final Object lock = new Object();
    private Thread thread;
    private Process process;
    private volatile boolean closed;
    private volatile int restarts;
    private volatile String lastFailure;
    private volatile boolean failed;
    private final BinlogShipper shipper;

    private BinlogReceiver(Builder b) {
        this.endpoint = b.endpoint;
        this.archive = b.archive;
        this.spool = b.spool;
        this.tool = new BinlogTool(b.tools, b.spool);
        this.backoff = b.backoff;
        this.pollInterval = b.pollInterval;
        this.threadFactory = b.threadFactory;
        this.shipper = new BinlogShipper(b.endpoint, b.archive, b.spool, b.startFile, b.clock, b.deltas, b.acceptGaps,
                note -> lastFailure = note);
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
            shipper.started();
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

    /**
     * The binlog files the archive needed that the server had purged, found when the receiver
     * (re)connected; empty while the archive is continuous. Without {@link Builder#acceptGaps()}
     * a gap also stops the receiver ({@link #isRunning()} false, {@link #lastFailure()} says so):
     * alert on it.
     */
    public Optional<BinlogGap> gap() {
        return Optional.ofNullable(shipper.gap());
    }

    /**
     * The oldest archived file from which the archive is continuous up to its newest file of the
     * base name this receiver follows ({@link BinlogArchive#continuousFrom}); empty before the
     * receiver knows that base name or while nothing of it is archived. Reads the archive's listing.
     */
    public Optional<String> continuousFrom() {
        String base = shipper.followed();
        return base == null ? Optional.empty() : archive.continuousFrom(base);
    }

    /** The last exit of the tool or archiving failure, or null if none. */
    public String lastFailure() {
        return lastFailure;
    }

    /** Where the archive and the local spool stand now. */
    public BinlogRpo rpo() {
        return shipper.rpo(restarts);
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
        try {
            if (tool.endLeftover()) {
                LOG.atWarn().addKeyValue("event", "binlog.leftover").log("binlog receiver: ended the mariadb-binlog a receiver "
                        + "of {} left running", spool);
            }
            OptionFile.deleteLeftovers(spool);
        } catch (IOException e) {
            lastFailure = "binlog receiver stopped: " + e.getMessage();
            failed = true;
            LOG.atError().addKeyValue("event", "binlog.stopped").log("{}", lastFailure);
            shipper.down();
            return;
        } catch (InterruptedException e) {
            shipper.down();
            return;
        }
        try (OptionFile options = OptionFile.create(endpoint, spool, "mariadb-binlog")) {
            // files a receiver that died left complete in the spool are archived before the tool rewrites the newest
            shipper.archiveCompleted();
            while (!closed) {
                String from;
                Process p;
                try {
                    from = shipper.resumeFile();
                    p = launch(options, from);
                    shipper.receiving();
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
                String before = shipper.archivedFile;
                while (p.isAlive() && !closed) {
                    shipper.archiveCompleted();
                    p.waitFor(pollInterval.toMillis(), TimeUnit.MILLISECONDS);
                }
                shipper.down();
                shipper.archiveCompleted();
                if (closed) {
                    break;
                }
                lastFailure = "mariadb-binlog exited with status " + p.exitValue() + " reading from " + from + ": "
                        + tool.lastLine();
                failures = Objects.equals(before, shipper.archivedFile) ? failures + 1 : 1;
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
                    // closing interrupts this thread; the wait for the tool's end must not be cut short by that
                    boolean interrupted = Thread.interrupted();
                    try {
                        if (process.waitFor(30, TimeUnit.SECONDS)) {
                            tool.forget();
                        }
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } finally {
                        if (interrupted) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }
            }
            shipper.down();
        }
    }

    private Process launch(OptionFile options, String from) throws IOException {
        ProcessBuilder command = tool.command(options, from);
        synchronized (lock) {
            if (closed) {
                throw new InterruptedIOException();
            }
            process = command.start();
            tool.follow(process);
            return process;
        }
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
        private ThreadFactory threadFactory = DaemonThreads.named("backstop-binlog-receiver");
        private boolean threadFactorySet;
        private boolean deltas = true;
        private boolean acceptGaps;

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

        /**
         * Goes on receiving after a gap: when the file the archive needs next was purged from the
         * server, the receiver records it ({@link BinlogReceiver#gap()}) and continues from the
         * server's oldest file of that base name, so the archive grows on past the gap ({@link
         * BinlogArchive#gaps()} names it). By default a gap stops the receiver instead.
         */
        public Builder acceptGaps() {
            if (acceptGaps) {
                throw new IllegalStateException("acceptGaps: already set");
            }
            this.acceptGaps = true;
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
