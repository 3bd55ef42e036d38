package dev.backstop.mysql.physical;

import dev.backstop.mysql.internal.OptionFile;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.ConsistencyPoint;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.LogRange;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.internal.stream.PipelinedInputStream;
import dev.backstop.core.source.CommandSource.StderrTail;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A physical backup of a whole MariaDB server with {@code mariadb-backup --backup
 * --stream=xbstream}, at the binlog position and GTID the tool recorded.
 *
 * <pre>{@code
 * CaptureSource source = MariaDbBackupSource.builder(MariaDbEndpoint.of("127.0.0.1", 3306, "backup", password))
 *     .fingerprints("shop")
 *     .build();
 * }</pre>
 *
 * <p><b>Guarantees.</b> The tool's standard output streams into the pipeline as stream {@value
 * #STREAM} and is never held whole in memory or on disk. While it passes, its xbstream chunk
 * structure is followed and the tool's {@code xtrabackup_binlog_info} (or {@code
 * mariadb_backup_binlog_info}) is read from it: the binlog file, position and GTID position
 * mariadb-backup took while commits were blocked ({@code BACKUP STAGE BLOCK_COMMIT}), which is
 * exactly the point a prepared copy of this backup is consistent at. They become the
 * consistency point ({@code binlog_file}, {@code binlog_position}, {@code gtid}, with {@code
 * server_id} and {@code innodb_lsn}). The backup is published only if the tool exited 0, its
 * stream ended on a chunk boundary and held the binlog coordinates; otherwise capture throws
 * {@link CaptureFailedException} with the exit code and stderr tail, and nothing is published
 * (a server that dies mid-backup makes the tool fail, and so the capture). The password reaches
 * the tool only through a private option file given as {@code --defaults-file} (so no other
 * option file is read), deleted when it exits.
 *
 * <p><b>Fingerprints.</b> A physical backup has no snapshot a client can open. With {@link
 * Builder#fingerprints(String...)}, once the tool has finished the source opens a consistent
 * snapshot and records fingerprints of the named databases only if MariaDB reports that
 * snapshot at the backup's own binlog position, that is when nothing committed since the
 * backup's point: then they are exact fingerprints of the backup. On a busy server they are left
 * out and {@code mariadb.fingerprints} says why; a drill then proves the restore without an
 * exact comparison.
 *
 * <p><b>Restrictions.</b> Runs on the database host: mariadb-backup reads the server's data
 * directory from disk, as the operating-system user running Backstop. The account needs {@code
 * RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR} (MariaDB's list for mariadb-backup). A server
 * without a binary log ({@code log_bin=OFF}) is refused: such a backup has no point to be
 * recovered forward from. Restore needs the same MariaDB major version's mariadb-backup.
 *
 * <p><b>Threading.</b> Immutable; {@link #capture} runs on the calling thread, with two executor
 * tasks: one reads the tool's output ahead of the pipeline, one reads the server's id and version
 * on a connection of its own while the tool runs (stderr is drained on a daemon thread of its
 * own).
 *
 * <p>Past 400 lines because the tool's run, the read-ahead of its stream, the coordinates read
 * from it and the fingerprints at that point are one capture whose failure paths must agree;
 * the xbstream walk itself is in {@code XbstreamTap}.
 */
public final class MariaDbBackupSource implements CaptureSource {
    /** The tools' own logger, as every Backstop module names it. */
    private static final Logger LOG = LoggerFactory.getLogger("dev.backstop.tools");
    /** The stream name of the backup. */
    public static final String STREAM = "backup.xbstream";
    /** The value of the {@code mariadb.format} attribute of physical backups. */
    public static final String FORMAT = "xbstream";
    private static final List<String> BINLOG_INFO = List.of("xtrabackup_binlog_info", "mariadb_backup_binlog_info");
    private static final List<String> CHECKPOINTS = List.of("xtrabackup_checkpoints", "mariadb_backup_checkpoints");
    private static final List<String> INFO = List.of("xtrabackup_info", "mariadb_backup_info");
    /**
     * The tool's output is read ahead into {@value #READ_AHEAD_DEPTH} chunks of this size on a
     * thread that does nothing else: a pipe holds only 64 KiB, and mariadb-backup's copy threads
     * stop reading the data files while it is full, as it is whenever the capturing thread is
     * busy hashing and handing over the bytes it read before.
     */
    private static final int READ_CHUNK = 256 * 1024;
    private static final int READ_AHEAD_DEPTH = 16;

    private final MariaDbEndpoint endpoint;
    private final MariaDbTools tools;
    private final Path workDir;
    private final int parallel;
    private final List<String> fingerprintDatabases;
    private final String binlogStream;
    private final Executor executor;

    private MariaDbBackupSource(Builder b) {
        this.endpoint = b.endpoint;
        this.tools = b.tools;
        this.workDir = b.workDir;
        this.parallel = b.parallel;
        this.fingerprintDatabases = List.copyOf(b.fingerprintDatabases);
        this.binlogStream = b.binlogStream;
        this.executor = LogContext.propagating(b.executor);
    }

    /** A source backing up the server at {@code endpoint} (a local server: see Restrictions). */
    public static Builder builder(MariaDbEndpoint endpoint) {
        return new Builder(endpoint);
    }

    @Override
    public BackupType type() {
        return BackupType.PHYSICAL;
    }

    @Override
    public CaptureResult capture(Streams streams) throws IOException {
        Path program;
        try {
            program = tools.tool("mariadb-backup");
        } catch (NoSuchFileException e) {
            throw new CaptureFailedException(e.getReason() + " (Debian: mariadb-backup)", null, null, e);
        }
        Path work = Files.createTempDirectory(workDir, "backstop-mariadb-backup-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (OptionFile options = OptionFile.create(endpoint, work, "mariadb-backup")) {
            List<String> cmd = new ArrayList<>(List.of(program.toString(), options.argument(), "--backup",
                    "--stream=xbstream", "--target-dir=" + work.resolve("target"), "--tmpdir=" + work,
                    "--parallel=" + parallel));
            Process p = new ProcessBuilder(cmd).directory(work.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            LOG.atInfo().addKeyValue("event", "tool.started").addKeyValue("tool", "mariadb-backup").addKeyValue("pid", p.pid())
                    .addKeyValue("args", cmd.subList(1, cmd.size())).log("mariadb-backup started");
            // the server's own facts, read while the tool runs: a fresh JVM loads the driver and
            // connects then, not after the stream, when everything else waits for it
            CompletableFuture<ServerFacts> facts = CompletableFuture.supplyAsync(this::serverFacts, executor);
            try {
                return stream(p, streams, facts);
            } finally {
                if (p.isAlive()) {
                    p.destroyForcibly();
                }
            }
        } finally {
            deleteTree(work);
        }
    }

    private CaptureResult stream(Process p, Streams streams, CompletableFuture<ServerFacts> facts) throws IOException {
        // mariadb-backup reports its progress on stderr: a line there is news, not a warning
        StderrTail stderr = StderrTail.loggedAtDebug(p.getErrorStream(), "mariadb-backup");
        Set<String> keep = new HashSet<>(BINLOG_INFO);
        keep.addAll(CHECKPOINTS);
        keep.addAll(INFO);
        XbstreamTap tap;
        try (OutputStream out = streams.open(STREAM);
             InputStream in = new PipelinedInputStream(p.getInputStream(), executor, READ_CHUNK, READ_AHEAD_DEPTH)) {
            tap = new XbstreamTap(out, keep);
            try {
                // each read-ahead chunk goes to the tap as it is, without a copy into a buffer of ours
                in.transferTo(tap);
            } catch (IOException | RuntimeException e) {
                // before the read-ahead stops: its thread may be inside a read of the tool's output
                p.destroyForcibly();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            throw e;
        }
        int exit = waitFor(p);
        (exit == 0 ? LOG.atDebug() : LOG.atWarn()).addKeyValue("event", "tool.exited").addKeyValue("tool", "mariadb-backup")
                .addKeyValue("exit.code", exit).log("mariadb-backup exited with {}", exit);
        String tail = stderr.await();
        if (exit != 0) {
            throw new CaptureFailedException("mariadb-backup of " + endpoint + " failed after " + tap.bytes() + " bytes of stream",
                    exit, tail, null, retryable(tail));
        }
        if (!tap.complete()) {
            throw new CaptureFailedException("mariadb-backup of " + endpoint + " exited 0 but its stream ends inside an xbstream "
                    + "chunk after " + tap.bytes() + " bytes", exit, tail, null);
        }
        Optional<String> binlogInfo = first(tap, BINLOG_INFO);
        if (binlogInfo.isEmpty() || binlogInfo.get().isBlank()) {
            throw new CaptureFailedException("mariadb-backup of " + endpoint + " recorded no binlog position (no "
                    + BINLOG_INFO.get(0) + " in its stream): the server writes no binary log; start it with log-bin so the "
                    + "backup has a point to recover forward from", exit, tail, null);
        }
        BinlogPoint point;
        try {
            point = BinlogPoint.parse(binlogInfo.get());
        } catch (IllegalArgumentException e) {
            throw new CaptureFailedException("mariadb-backup of " + endpoint + ": " + e.getMessage(), exit, tail, e);
        }
        Map<String, String> info = keyValues(first(tap, INFO).orElse(""));
        Map<String, String> checkpoints = keyValues(first(tap, CHECKPOINTS).orElse(""));
        return result(point, info, checkpoints, facts);
    }

    /** The server's id and version. */
    private record ServerFacts(String serverId, String version) {
    }

    /** Reads the server's facts on a connection of its own; an unchecked failure carries the SQLException. */
    private ServerFacts serverFacts() {
        try (Connection c = endpoint.connect(null); Statement st = c.createStatement()) {
            return serverFacts(st);
        } catch (SQLException e) {
            throw new FactsFailed(e);
        }
    }

    private static ServerFacts serverFacts(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT @@server_id, VERSION()")) {
            rs.next();
            return new ServerFacts(rs.getString(1), rs.getString(2));
        }
    }

    /** Carries a failed read of the server's facts out of its task. */
    private static final class FactsFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FactsFailed(SQLException cause) {
            super(cause);
        }
    }

    /**
     * The facts read while the tool ran, or null if that read failed (the server may have been
     * restarting then): the caller reads them again.
     */
    private static ServerFacts early(CompletableFuture<ServerFacts> facts) throws CaptureFailedException {
        try {
            return facts.get();
        } catch (ExecutionException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CaptureFailedException("interrupted while reading the server's facts", null, null, e);
        }
    }

    /**
     * The capture's result at {@code point}; fingerprints (if asked for) on a connection opened now,
     * after the tool finished, so that their snapshot can be compared with the backup's point.
     */
    private CaptureResult result(BinlogPoint point, Map<String, String> info, Map<String, String> checkpoints,
                                 CompletableFuture<ServerFacts> early) throws CaptureFailedException {
        ServerFacts facts = early(early);
        Fingerprints prints = null;
        String fingerprintNote = "none requested";
        if (facts == null || !fingerprintDatabases.isEmpty()) {
            try (Connection c = endpoint.connect(null); Statement st = c.createStatement()) {
                if (facts == null) {
                    facts = serverFacts(st);
                }
                if (!fingerprintDatabases.isEmpty()) {
                    String snapshot = ServerFingerprints.startSnapshot(c);
                    String backupAt = point.file() + ":" + point.position();
                    if (snapshot.equals(backupAt)) {
                        prints = ServerFingerprints.compute(c, fingerprintDatabases);
                        fingerprintNote = "consistent-snapshot at the backup's binlog position";
                    } else {
                        fingerprintNote = "not taken: the source committed after the backup's point (backup at " + backupAt
                                + ", first snapshot after it at " + snapshot + ")";
                    }
                    st.execute("ROLLBACK");
                }
            } catch (SQLException e) {
                throw new CaptureFailedException("mariadb-backup of " + endpoint + " succeeded, but reading the server's facts "
                        + "afterwards failed: " + e.getMessage() + " (error " + e.getErrorCode() + ")", null, null, e,
                        e.getSQLState() != null && e.getSQLState().startsWith("08"));
            }
        }
        Map<String, String> consistency = new LinkedHashMap<>();
        consistency.put("binlog_file", point.file());
        consistency.put("binlog_position", Long.toString(point.position()));
        consistency.put("gtid", point.gtid());
        consistency.put("server_id", facts.serverId());
        if (checkpoints.containsKey("to_lsn")) {
            consistency.put("innodb_lsn", checkpoints.get("to_lsn"));
        }
        CaptureResult.Builder r = CaptureResult.builder(new SourceInfo("mariadb", info.getOrDefault("server_version", facts.version()),
                        Map.of("host", endpoint.host() + ":" + endpoint.port())))
                .consistency(ConsistencyPoint.of(consistency))
                .attribute("mariadb.format", FORMAT)
                .attribute("mariadb.backup_tool_version", info.getOrDefault("tool_version", ""))
                .attribute("mariadb.fingerprints", fingerprintNote)
                .attribute("mariadb.fingerprint_databases", String.join(",", fingerprintDatabases));
        if (checkpoints.containsKey("last_lsn")) {
            r.attribute("mariadb.innodb_last_lsn", checkpoints.get("last_lsn"));
        }
        if (prints != null) {
            r.fingerprints(prints);
        }
        if (binlogStream != null) {
            long n = BinlogArchive.file(point.file()).start();
            r.requiredLogs(new LogRange(binlogStream, n, n));
        }
        return r.build();
    }

    private static Optional<String> first(XbstreamTap tap, List<String> names) {
        for (String name : names) {
            Optional<String> s = tap.file(name);
            if (s.isPresent()) {
                return s;
            }
        }
        return Optional.empty();
    }

    /** Parses {@code name = value} lines, as mariadb-backup writes its info and checkpoints files. */
    static Map<String, String> keyValues(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                out.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
            }
        }
        return out;
    }

    private static boolean retryable(String stderr) {
        String s = stderr.toLowerCase(Locale.ROOT);
        if (s.contains("access denied")) {
            return false;
        }
        return s.contains("lost connection") || s.contains("gone away") || s.contains("can't connect")
                || s.contains("connection refused") || s.contains("too many connections") || s.contains("shutdown in progress");
    }

    private static int waitFor(Process p) throws IOException {
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new CaptureFailedException("mariadb-backup did not exit within 10 minutes of closing its stream", null, null,
                        null);
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CaptureFailedException("interrupted while waiting for mariadb-backup to exit", null, null, e);
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException ignored) {
                    // best effort: private temporary data
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    @Override
    public String toString() {
        return "MariaDbBackupSource[" + endpoint + "]";
    }

    /** Builder for {@link MariaDbBackupSource}; every setting has a default; a setting given twice is refused. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final MariaDbEndpoint endpoint;
        private MariaDbTools tools = MariaDbTools.locate();
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private int parallel = 1;
        private final List<String> fingerprintDatabases = new ArrayList<>();
        private String binlogStream;
        private Executor executor = DaemonThreads.threadPerTask(DaemonThreads.named("backstop-mariadb-backup-read"));

        private Builder(MariaDbEndpoint endpoint) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        }

        /** Where {@code mariadb-backup} is found ({@link MariaDbTools#locate()} by default). */
        public Builder tools(MariaDbTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /**
         * Where the private option file and the tool's temporary files go (default {@code
         * java.io.tmpdir}); the tool keeps the redo log it copies there until it streams it.
         */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /** How many files mariadb-backup copies at once ({@code --parallel}, default 1, 1..64). */
        public Builder parallel(int parallel) {
            if (parallel < 1 || parallel > 64) {
                throw new IllegalArgumentException("parallel: got " + parallel + ", must be 1..64");
            }
            this.parallel = given.once("parallel", this.parallel, parallel);
            return this;
        }

        /**
         * Databases to fingerprint when the source is quiet at the backup's point (see the class
         * Javadoc); none by default. Each name is recorded, so a drill fingerprints the same ones.
         */
        public Builder fingerprints(String... databases) {
            for (String d : databases) {
                if (Objects.requireNonNull(d, "database").isBlank() || d.length() > 64 || d.contains(",")) {
                    throw new IllegalArgumentException("fingerprints: got database '" + d + "', need a name of 1..64 "
                            + "characters without a comma");
                }
                fingerprintDatabases.add(d);
            }
            return this;
        }

        /**
         * The binlog archive this backup is recovered forward from ({@link BinlogArchive#stream()},
         * {@code binlog/<server-uuid>}): recorded as the manifest's required logs from the backup's
         * binlog file on, so that retention keeps those binlogs while it keeps the backup.
         */
        public Builder binlogStream(String stream) {
            if (!Objects.requireNonNull(stream, "stream").matches("binlog/[A-Za-z0-9._-]{1,128}")) {
                throw new IllegalArgumentException("binlogStream: got '" + stream + "', need binlog/<server-uuid> as "
                        + "BinlogArchive.stream() names it");
            }
            this.binlogStream = given.once("binlogStream", "none", stream);
            return this;
        }

        /**
         * Runs the tasks of a capture, on threads other than the capturing one (default: a new
         * daemon thread per task): the one that reads the tool's output ahead of the pipeline for
         * the capture's whole length, and a short one that reads the server's id and version while
         * the tool runs; never shut down by the source.
         */
        public Builder executor(Executor executor) {
            this.executor = given.once("executor", "the default executor", executor);
            return this;
        }

        public MariaDbBackupSource build() {
            return new MariaDbBackupSource(this);
        }
    }
}
