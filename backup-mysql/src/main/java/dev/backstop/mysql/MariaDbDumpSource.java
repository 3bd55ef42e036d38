package dev.backstop.mysql;

import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.mysql.internal.OptionFile;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.ConsistencyPoint;
import dev.backstop.core.LogRange;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.stream.PipelinedInputStream;
import dev.backstop.core.source.CommandSource.StderrTail;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * A logical backup of one MariaDB (or MySQL) database with {@code mariadb-dump} ({@code
 * mysqldump}), at a recorded binlog position, with fingerprints proven to be of the same point.
 *
 * <pre>{@code
 * CaptureSource source = MariaDbDumpSource.builder(MariaDbEndpoint.of("127.0.0.1", 3306, "backup", password), "shop")
 *     .build();
 * }</pre>
 *
 * <p><b>Guarantees.</b> The dump runs in one transaction ({@code --single-transaction}) with
 * routines, events, triggers and binary data as hex; its binlog file and position, and the GTID
 * position, are recorded as the consistency point ({@code binlog_file}, {@code binlog_position},
 * {@code gtid}, {@code server_id}, {@code timestamp}). The per-table fingerprints ({@link
 * MariaDbFingerprints}: row count and content hash) are taken from the dump's own rows as they
 * flow to the pipeline ({@code mariadb.fingerprints=dump-stream}), so they are of exactly the
 * dump's point by construction and no row is read twice; the parsing and hashing run on an
 * executor thread behind a bounded hand-off. The definition hashes of tables, views, routines,
 * triggers and events are read in a session of their own just before the dump starts. FLOAT
 * columns holding a value the dump writes with too few digits to restore exactly are looked for
 * on the server meanwhile and named in {@value #LOSSY_FLOAT_ATTRIBUTE}. Tables of
 * non-transactional engines (anything but InnoDB) are refused, naming them, unless {@link
 * Builder#allowNonTransactional()} was called. The password reaches the dump program only through
 * a private option file given as {@code --defaults-file} (so no other option file is read),
 * deleted when it exits; never through argv or the environment. Where coreutils' {@code stdbuf}
 * is found ({@link MariaDbTools}) and runs the program, the program runs under {@code stdbuf -o
 * 64K}: an output buffer of a pipe's capacity instead of stdio's one page, so that the dump
 * crosses the pipe in fewer, larger writes and reads. If the program exits non-zero or dies, or
 * its rows cannot be read, capture throws {@link CaptureFailedException} with its exit code and
 * stderr tail, and the pipeline publishes nothing.
 *
 * <p><b>Restrictions.</b> The server must write a binary log ({@code log_bin=ON}): without one
 * the dump has no position to be replayed from. DDL during the dump breaks {@code
 * --single-transaction} (the server then fails the dump, which is reported); DDL between the
 * definition hashes and the start of the dump makes a drill report the changed object. MySQL
 * servers are dumped with {@code --source-data=2} but without fingerprints: drills restore into
 * MariaDB, whose value text differs from MySQL's. The dump holds one database without {@code
 * --databases}, so it loads into a database of any name; grants and users are not in it.
 * mariadb-dump writes FLOAT values with 6 significant digits, so a FLOAT that needs more does not
 * survive a dump.
 *
 * <p><b>Threading.</b> Immutable; each {@link #capture} uses three executor tasks (reading the
 * dump program's output ahead of the pipeline, the row fingerprints and the FLOAT check) while the
 * calling thread streams the dump.
 */
public final class MariaDbDumpSource implements CaptureSource {
    /** The stream name of the dump in a backup. */
    public static final String STREAM = "dump.sql";
    /**
     * The manifest attribute naming the FLOAT columns ({@code table.column}) holding a value that
     * {@code mariadb-dump} writes with too few digits to restore exactly; a drill reports them.
     */
    public static final String LOSSY_FLOAT_ATTRIBUTE = "mariadb.lossy_float_columns";
    private static final int HEAD_LIMIT = 1 << 20;
    private static final int TAP_CHUNK = 256 * 1024;
    private static final int TAP_DEPTH = 16;
    /**
     * The dump's output is read ahead into this many chunks of {@link #TAP_CHUNK} bytes on a
     * thread that does nothing else: a pipe holds only 64 KiB, and a dump program that finds it
     * full stops reading the server's rows while the capturing thread hashes and copies.
     */
    private static final int READ_AHEAD_DEPTH = 16;

    private final MariaDbEndpoint endpoint;
    private final String database;
    private final MariaDbTools tools;
    private final boolean allowNonTransactional;
    private final boolean fingerprints;
    private final Path workDir;
    private final Executor executor;
    private final List<String> extraArgs;
    private final String binlogStream;
    private final LossyFloatCheck floatCheck;

    private MariaDbDumpSource(Builder b) {
        this.endpoint = b.endpoint;
        this.database = b.database;
        this.tools = b.tools;
        this.allowNonTransactional = b.allowNonTransactional;
        this.fingerprints = b.fingerprints;
        this.workDir = b.workDir;
        // fingerprint tasks log under the backup's MDC
        this.executor = LogContext.propagating(b.executor);
        this.extraArgs = List.copyOf(b.extraArgs);
        this.binlogStream = b.binlogStream;
        this.floatCheck = new LossyFloatCheck(b.database);
    }

    /** A source dumping {@code database} on {@code endpoint}. */
    public static Builder builder(MariaDbEndpoint endpoint, String database) {
        return new Builder(endpoint, database);
    }

    @Override
    public BackupType type() {
        return BackupType.LOGICAL;
    }

    @Override
    public CaptureResult capture(Streams streams) throws IOException {
        Connection c;
        try {
            c = endpoint.connect(database);
        } catch (SQLException e) {
            throw new CaptureFailedException(ServerErrors.describeConnect(e, endpoint, database), null, null, e,
                    ServerErrors.retryable(e));
        }
        try (c) {
            SourceSession.Facts facts = SourceSession.facts(c, database);
            ServerFlavor flavor = ServerFlavor.parse(facts.version());
            if (!facts.logBin()) {
                throw new CaptureFailedException("the server at " + endpoint + " writes no binary log (log_bin=OFF): a dump "
                        + "of database '" + database + "' would have no position to record or to replay "
                        + "binlogs from; start the server with log-bin", null, null, null);
            }
            List<String> nonTransactional = SourceSession.nonTransactionalTables(c, database);
            if (!nonTransactional.isEmpty() && !allowNonTransactional) {
                throw new CaptureFailedException("database '" + database + "' has tables of non-transactional engines, which "
                        + "--single-transaction cannot dump consistently: " + String.join(", ", nonTransactional)
                        + "; convert them to InnoDB or accept an inconsistent dump with allowNonTransactional()", null, null, null);
            }
            Path program;
            try {
                program = tools.tool(flavor.dumpProgram());
            } catch (NoSuchFileException e) {
                throw new CaptureFailedException(e.getReason(), null, null, e);
            }
            boolean withFingerprints = fingerprints && flavor.mariadb();
            try (OptionFile options = OptionFile.create(endpoint, workDir)) {
                return dump(c, flavor, facts, program, options, withFingerprints, nonTransactional, streams);
            }
        } catch (SQLException e) {
            throw new CaptureFailedException("database '" + database + "' at " + endpoint + " failed during capture: "
                    + e.getMessage() + " (error " + e.getErrorCode() + ", SQLSTATE " + e.getSQLState() + ")", null, null, e,
                    ServerErrors.retryable(e));
        }
    }

    private CaptureResult dump(Connection c, ServerFlavor flavor, SourceSession.Facts facts, Path program, OptionFile options,
                               boolean withFingerprints, List<String> nonTransactional, Streams streams)
            throws IOException, SQLException {
        List<String> cmd = new ArrayList<>();
        cmd.add(program.toString());
        cmd.addAll(flavor.dumpArguments(options.argument(), database, extraArgs));
        // DDL is not transactional: definitions are read just before the dump starts, rows from the dump itself
        Map<String, String> objects = withFingerprints ? MariaDbFingerprints.definitions(c, database) : Map.of();
        Process p = DumpProcess.start(DumpProcess.withOutputBuffer(cmd, tools), program);
        StderrTail stderr = StderrTail.logged(p.getErrorStream(), program.getFileName().toString());
        try (InputStream in = new PipelinedInputStream(p.getInputStream(), executor, TAP_CHUNK, READ_AHEAD_DEPTH)) {
            DumpProcess.Head h = DumpProcess.readHead(in, HEAD_LIMIT);
            byte[] head = h.bytes();
            int headLength = h.length();
            Optional<DumpComments.Position> dumped = h.position();
            if (dumped.isEmpty()) {
                p.destroyForcibly();
                int exit = DumpProcess.waitFor(p);
                String tail = stderr.await();
                throw new CaptureFailedException(program.getFileName() + " of database '" + database + "' at " + endpoint
                        + (exit != 0 ? " failed before its binlog position" : " wrote no binlog position comment in its first "
                        + headLength + " bytes"), exit, tail, null, ServerErrors.retryable(tail));
            }
            return stream(c, p, stderr, in, head, headLength, dumped.get(), flavor, facts, program, withFingerprints, objects,
                    nonTransactional, streams);
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    private CaptureResult stream(Connection c, Process p, StderrTail stderr, InputStream in, byte[] head, int headLength,
                                 DumpComments.Position position, ServerFlavor flavor, SourceSession.Facts facts, Path program,
                                 boolean withFingerprints, Map<String, String> objects, List<String> nonTransactional,
                                 Streams streams) throws IOException, SQLException {
        CompletableFuture<List<String>> lossy = withFingerprints
                ? CompletableFuture.supplyAsync(() -> floatCheck.lossyFloatColumns(c), executor)
                : CompletableFuture.completedFuture(List.of());
        FingerprintTap tap = withFingerprints ? new FingerprintTap(executor, TAP_CHUNK, TAP_DEPTH) : null;
        DumpComments.Tail tail = new DumpComments.Tail(16 * 1024);
        long bytes = headLength;
        Map<String, TableFingerprint> tables;
        try {
            try (OutputStream out = streams.open(STREAM)) {
                out.write(head, 0, headLength);
                tail.write(head, 0, headLength);
                if (tap != null) {
                    tap.write(head, 0, headLength);
                }
                byte[] buf = new byte[TAP_CHUNK];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (tap != null) {
                        tap.write(buf, 0, n);
                    }
                    out.write(buf, 0, n);
                    tail.write(buf, 0, n);
                    bytes += n;
                }
                // the stream commits on close: the fingerprints must be whole before it does
                tables = tap == null ? null : tap.finish();
            }
            int exit = DumpProcess.waitFor(p);
            if (exit != 0) {
                String err = stderr.await();
                throw new CaptureFailedException(program.getFileName() + " of database '" + database + "' at " + endpoint
                        + " failed after " + bytes + " bytes", exit, err, null, ServerErrors.retryable(err));
            }
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            if (tap != null) {
                tap.cancel();
            }
            // stop a float check still running on the shared connection, then let it finish failing
            LossyFloatCheck.abortQuietly(c);
            LossyFloatCheck.awaitQuietly(lossy);
            throw e;
        }
        List<String> lossyColumns = floatCheck.join(lossy);
        Map<String, String> point = new LinkedHashMap<>();
        point.put("binlog_file", position.file());
        point.put("binlog_position", Long.toString(position.position()));
        point.put("gtid", DumpComments.gtid(tail.text()).orElse(""));
        point.put("server_id", facts.serverId());
        point.put("timestamp", facts.timestamp());
        CaptureResult.Builder r = CaptureResult.builder(new SourceInfo(flavor.engine(), facts.version(),
                        Map.of("database", database, "host", endpoint.host() + ":" + endpoint.port())))
                .consistency(ConsistencyPoint.of(point))
                .attribute("mariadb.format", "sql")
                .attribute("mariadb.database", database)
                .attribute("mariadb.flavor", flavor.toString())
                .attribute("mariadb.database_charset", facts.charset())
                .attribute("mariadb.database_collation", facts.collation())
                .attribute("mariadb.dump_program", program.getFileName().toString())
                .attribute("mariadb.fingerprints", withFingerprints ? "dump-stream"
                        : fingerprints ? "none (drills restore into MariaDB, whose value text differs from MySQL's)" : "none")
                .attribute("bytes", Long.toString(bytes));
        if (binlogStream != null) {
            long n = BinlogArchive.file(position.file()).start();
            r.requiredLogs(new LogRange(binlogStream, n, n));
        }
        if (!nonTransactional.isEmpty()) {
            r.attribute("mariadb.non_transactional_tables", String.join(",", nonTransactional));
        }
        if (tables != null) {
            MariaDbFingerprints.Result prints = MariaDbFingerprints.of(tables, objects);
            r.fingerprints(prints.fingerprints());
            prints.attributes().forEach(r::attribute);
            if (!lossyColumns.isEmpty()) {
                r.attribute(LOSSY_FLOAT_ATTRIBUTE, String.join(",", lossyColumns));
            }
        }
        return r.build();
    }

    @Override
    public String toString() {
        return "MariaDbDumpSource[" + database + " at " + endpoint + "]";
    }

    /** Builder for {@link MariaDbDumpSource}; each setting has a default; a setting given twice is refused. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final MariaDbEndpoint endpoint;
        private final String database;
        private MariaDbTools tools = MariaDbTools.locate();
        private boolean allowNonTransactional;
        private boolean fingerprints = true;
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private Executor executor = DaemonThreads.threadPerTask(DaemonThreads.numbered("backstop-mariadb-dump"));
        private final List<String> extraArgs = new ArrayList<>();
        private String binlogStream;

        private Builder(MariaDbEndpoint endpoint, String database) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
            this.database = Objects.requireNonNull(database, "database");
            if (database.isBlank() || database.startsWith("-") || database.length() > 64) {
                throw new IllegalArgumentException("database: got '" + database + "', need a database name of 1..64 "
                        + "characters not starting with '-'");
            }
        }

        /** Where the programs are found ({@link MariaDbTools#locate()} by default). */
        public Builder tools(MariaDbTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /**
         * Accepts tables of non-transactional engines (MyISAM, Aria, MEMORY, ...): they are dumped
         * without a lock, so their rows may be from any instant during the dump, and their
         * fingerprints may not match the dump. The manifest names them
         * ({@code mariadb.non_transactional_tables}).
         */
        public Builder allowNonTransactional() {
            given.once("allowNonTransactional");
            this.allowNonTransactional = true;
            return this;
        }

        /** Whether to record fingerprints (default true; a drill needs them). */
        public Builder fingerprints(boolean fingerprints) {
            this.fingerprints = given.once("fingerprints", this.fingerprints, fingerprints);
            return this;
        }

        /** Where the private option file is written (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /**
         * Runs the capture's tasks (reading the dump ahead, the row fingerprints, the FLOAT check),
         * three per capture for its whole length, which must run at once and on threads other
         * than the capturing one (default: a new daemon thread per task); never shut down by the
         * source.
         */
        public Builder executor(Executor executor) {
            this.executor = given.once("executor", "the default executor", executor);
            return this;
        }

        /**
         * An extra dump option, such as {@code --ignore-table=shop.audit}. Options the source sets
         * itself (connection, option files, consistency, output) are refused.
         */
        public Builder dumpOption(String option) {
            Objects.requireNonNull(option, "option");
            String name = option.contains("=") ? option.substring(0, option.indexOf('=')) : option;
            name = name.toLowerCase(Locale.ROOT).replace('_', '-');
            for (String owned : List.of("--defaults-file", "--defaults-extra-file", "--no-defaults", "--host", "--port", "--user",
                    "--password", "--socket", "--protocol", "--single-transaction", "--master-data", "--source-data", "--gtid",
                    "--lock-all-tables", "--lock-tables", "--result-file", "--tab", "--databases", "--all-databases", "--xml",
                    "--compact", "--skip-comments", "--comments", "--set-gtid-purged", "--default-character-set",
                    "--skip-quote-names", "--skip-tz-utc")) {
                if (name.equals(owned)) {
                    throw new IllegalArgumentException("dumpOption: '" + option + "' is set by MariaDbDumpSource itself "
                            + "(connection, consistency, comments and output, which the fingerprints read, are not configurable)");
                }
            }
            if (!name.startsWith("--")) {
                throw new IllegalArgumentException("dumpOption: got '" + option + "', need a long option such as "
                        + "--ignore-table=db.table");
            }
            extraArgs.add(option);
            return this;
        }

        /**
         * The binlog archive this backup is recovered forward from ({@link BinlogArchive#stream()},
         * {@code binlog/<server-uuid>}): recorded as the manifest's required logs from the dump's
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

        public MariaDbDumpSource build() {
            return new MariaDbDumpSource(this);
        }
    }
}
