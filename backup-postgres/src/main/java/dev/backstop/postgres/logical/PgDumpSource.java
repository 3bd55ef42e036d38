package dev.backstop.postgres.logical;

import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.ConsistencyPoint;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.internal.CopyHashTap;
import dev.backstop.postgres.internal.CustomDump;
import dev.backstop.postgres.internal.ServerFailures;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * A logical backup of one PostgreSQL database with {@code pg_dump}, consistent with proof.
 *
 * <pre>{@code
 * CaptureSource source = PgDumpSource.builder(PgEndpoint.of("127.0.0.1", 5432, "backup", password), "shop")
 *     .format(DumpFormat.CUSTOM)
 *     .build();
 * }</pre>
 *
 * <p><b>Guarantees.</b> A REPEATABLE READ transaction exports its snapshot and {@code pg_dump
 * --snapshot} dumps exactly that state, and fingerprints of that state (per-table row counts and
 * content hashes, the schema hash; see {@link PgFingerprints}) are recorded so a restore can be
 * compared for exact equality. By default ({@link FingerprintMethod#STREAM}) table contents are
 * hashed from the COPY data of the dump itself as it streams past, on one extra thread; the
 * schema hash, and the few tables stream hashing cannot cover, are computed by the server inside
 * the exported snapshot's transaction, concurrently with the dump. For stream hashing pg_dump runs
 * with {@code TimeZone=UTC}, {@code bytea_output=hex} and client encoding UTF8 pinned. The
 * attribute {@code postgresql.fingerprints} says how they were taken: {@code stream},
 * {@code server}, {@code none}, or {@code server (<why the dump could not be hashed>)}. The result also carries the server version,
 * database size and the consistency point (snapshot id, snapshot xmin:xmax, WAL LSN, time).
 * pg_dump's own compression is off ({@code -Z 0}) because the pipeline compresses faster.
 * A pg_dump older than the server is refused before anything runs. If pg_dump exits non-zero or
 * dies, capture throws {@link CaptureFailedException} with its exit code and stderr tail, and the
 * pipeline publishes nothing. The password reaches pg_dump only through a private pgpass file.
 *
 * <p><b>Restrictions.</b> {@link DumpFormat#DIRECTORY} dumps in parallel into a temporary
 * directory under {@link Builder#workDir} and then streams it as a tar: it needs free disk for
 * one uncompressed dump there (memory stays bounded). Directory and plain dumps, dumps of
 * databases not in UTF8 and {@link FingerprintMethod#SERVER} read every table once more on the
 * server to fingerprint it. Turn fingerprints off ({@link FingerprintMethod#NONE}) only if a drill
 * will not be run.
 *
 * <p><b>Threading.</b> Immutable; each {@link #capture} uses one thread of the executor for the
 * server's share of the fingerprints and, for stream hashing, one thread of its own, while the
 * calling thread streams the dump.
 */
public final class PgDumpSource implements CaptureSource {
    private final PgEndpoint endpoint;
    private final String database;
    private final DumpFormat format;
    private final int jobs;
    private final PgTools tools;
    private final FingerprintMethod fingerprints;
    private final Path workDir;
    private final Executor executor;
    private final List<String> extraArgs;
    private final PgDumpRun dumps;
    private final FingerprintTasks tasks;

    private PgDumpSource(Builder b) {
        this.endpoint = b.endpoint;
        this.database = b.database;
        this.format = b.format;
        this.jobs = b.jobs;
        this.tools = b.tools;
        this.fingerprints = b.fingerprints;
        this.workDir = b.workDir;
        // fingerprint tasks log under the backup's MDC
        this.executor = LogContext.propagating(b.executor);
        this.extraArgs = List.copyOf(b.extraArgs);
        this.dumps = new PgDumpRun(endpoint, database, format, jobs, workDir, extraArgs);
        this.tasks = new FingerprintTasks(database);
    }

    /** A source dumping {@code database} on {@code endpoint}. */
    public static Builder builder(PgEndpoint endpoint, String database) {
        return new Builder(endpoint, database);
    }

    @Override
    public BackupType type() {
        return BackupType.LOGICAL;
    }

    public DumpFormat format() {
        return format;
    }

    @Override
    public CaptureResult capture(Streams streams) throws IOException {
        Path pgDump;
        int dumpMajor;
        try {
            pgDump = tools.tool("pg_dump");
            dumpMajor = tools.majorVersion(pgDump);
        } catch (NoSuchFileException e) {
            throw new CaptureFailedException(e.getReason(), null, null, e);
        }
        Connection c;
        try {
            c = endpoint.connect(database);
        } catch (SQLException e) {
            throw new CaptureFailedException("could not connect to database '" + database + "' at " + endpoint + ": "
                    + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")", null, null, e, ServerFailures.retryable(e));
        }
        try (c) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            Map<String, String> facts = SnapshotQueries.facts(c);
            int serverMajor = Integer.parseInt(facts.get("server_version_num")) / 10000;
            checkVersions(pgDump, dumpMajor, serverMajor, facts.get("server_version"));
            Map<String, String> point = SnapshotQueries.snapshot(c);
            FingerprintMethod method = effectiveMethod(facts.get("encoding"), dumpMajor);
            CompletableFuture<Fingerprints> server = method == FingerprintMethod.SERVER
                    ? CompletableFuture.supplyAsync(() -> tasks.fingerprintsOf(c), executor)
                    : CompletableFuture.completedFuture(null);
            CompletableFuture<PgFingerprints.StreamPlan> plan = method == FingerprintMethod.STREAM
                    ? CompletableFuture.supplyAsync(() -> tasks.planOf(c), executor)
                    : CompletableFuture.completedFuture(null);
            Map<String, CopyHashTap.Table> hashed = null;
            Map<String, CopyHashTap.SequencePosition> sequences = Map.of();
            String streamFailure = null;
            try (CopyHashTap tap = method == FingerprintMethod.STREAM ? new CopyHashTap(256 * 1024, 8, database) : null) {
                dumps.dump(pgDump, point.get("snapshot_id"), streams, tap);
                if (tap != null) {
                    try {
                        hashed = tap.finish();
                        sequences = tap.sequences();
                    } catch (InterruptedIOException e) {
                        throw e;
                    } catch (IOException e) {
                        streamFailure = e.getMessage();
                    }
                }
            } catch (IOException | RuntimeException e) {
                // stop a fingerprint scan still running on the shared connection, then let it finish failing
                tasks.abortQuietly(c);
                FingerprintTasks.awaitQuietly(server);
                FingerprintTasks.awaitQuietly(plan);
                throw e;
            }
            Fingerprints fp = tasks.join(server);
            PgFingerprints.StreamPlan streamPlan = tasks.join(plan);
            if (streamPlan != null) {
                // still inside the snapshot's transaction: a dump that could not be hashed is scanned instead
                fp = hashed != null ? PgFingerprints.withStream(streamPlan, hashed, sequences) : PgFingerprints.withoutStream(c, streamPlan);
            }
            c.rollback();
            CaptureResult.Builder r = CaptureResult.builder(new SourceInfo("postgresql", facts.get("server_version"),
                            Map.of("database", database, "host", endpoint.host() + ":" + endpoint.port())))
                    .consistency(ConsistencyPoint.of(point))
                    .attribute("postgresql.format", format.label())
                    .attribute("postgresql.database", database)
                    .attribute("postgresql.database_size_bytes", facts.get("database_size"))
                    .attribute("postgresql.server_version_num", facts.get("server_version_num"))
                    .attribute("postgresql.encoding", facts.get("encoding"))
                    .attribute("postgresql.lc_collate", facts.get("lc_collate"))
                    .attribute("postgresql.lc_ctype", facts.get("lc_ctype"))
                    .attribute("postgresql.pg_dump_major", Integer.toString(dumpMajor))
                    .attribute("postgresql.fingerprints", method == FingerprintMethod.STREAM && hashed == null
                            ? "server (" + streamFailure + ")" : method.name().toLowerCase(java.util.Locale.ROOT));
            if (fp != null) {
                r.fingerprints(fp);
            }
            return r.build();
        } catch (SQLException e) {
            throw new CaptureFailedException("database '" + database + "' at " + endpoint + " failed during capture: "
                    + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")", null, null, e, ServerFailures.retryable(e));
        }
    }

    /**
     * The method this capture can use: stream hashing needs a custom-format dump of COPY text with
     * pg_dump's float digits, in UTF8 (the text PgJDBC's COPY returns in a drill), in an archive
     * version the tap can read; otherwise the server scans concurrently with the dump, as before.
     */
    private FingerprintMethod effectiveMethod(String encoding, int dumpMajor) {
        if (fingerprints != FingerprintMethod.STREAM) {
            return fingerprints;
        }
        boolean copyText = extraArgs.stream().noneMatch(a -> a.startsWith("--inserts") || a.startsWith("--column-inserts")
                || a.startsWith("--rows-per-insert") || a.startsWith("--extra-float-digits"));
        return format == DumpFormat.CUSTOM && "UTF8".equals(encoding) && copyText
                && dumpMajor <= CustomDump.NEWEST_PG_DUMP_MAJOR
                ? FingerprintMethod.STREAM : FingerprintMethod.SERVER;
    }

    /** Refuses a pg_dump older than the server: it cannot read the newer catalogs correctly. */
    static void checkVersions(Path pgDump, int dumpMajor, int serverMajor, String serverVersion) throws CaptureFailedException {
        if (dumpMajor < serverMajor) {
            throw new CaptureFailedException(pgDump + " is PostgreSQL " + dumpMajor + " but the server is " + serverVersion
                    + "; pg_dump must be the server's major version or newer: configure PgTools.in(<bin dir of PostgreSQL "
                    + serverMajor + " or newer>)", null, null, null);
        }
    }

    @Override
    public String toString() {
        return "PgDumpSource[" + database + " at " + endpoint + ", " + format.label()
                + (format == DumpFormat.DIRECTORY ? " -j " + jobs : "") + "]";
    }

    /** Builder for {@link PgDumpSource}; each setting may be given once. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final PgEndpoint endpoint;
        private final String database;
        private DumpFormat format = DumpFormat.CUSTOM;
        private int jobs = 2;
        private PgTools tools = PgTools.locate();
        private FingerprintMethod fingerprints = FingerprintMethod.STREAM;
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private Executor executor = DaemonThreads.threadPerTask(DaemonThreads.named("backstop-pg-fingerprints"));
        private final List<String> extraArgs = new ArrayList<>();

        private Builder(PgEndpoint endpoint, String database) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
            this.database = Objects.requireNonNull(database, "database");
            if (database.isBlank() || database.contains("=")) {
                throw new IllegalArgumentException("database: got '" + database + "', need a database name (no '=')");
            }
        }

        /** The pg_dump format ({@link DumpFormat#CUSTOM} by default). */
        public Builder format(DumpFormat format) {
            this.format = given.once("format", this.format, format);
            return this;
        }

        /** Parallel jobs for {@link DumpFormat#DIRECTORY} (default 2); ignored by other formats. */
        public Builder jobs(int jobs) {
            if (jobs < 1 || jobs > 64) {
                throw new IllegalArgumentException("jobs: got " + jobs + ", must be 1..64");
            }
            this.jobs = given.once("jobs", this.jobs, jobs);
            return this;
        }

        /** Where the programs are found ({@link PgTools#locate()} by default). */
        public Builder tools(PgTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /**
         * Whether to record fingerprints in the snapshot (default true; a drill needs them): true is
         * {@link FingerprintMethod#STREAM}, false {@link FingerprintMethod#NONE}.
         */
        public Builder fingerprints(boolean fingerprints) {
            return fingerprints(fingerprints ? FingerprintMethod.STREAM : FingerprintMethod.NONE);
        }

        /** How to take fingerprints (default {@link FingerprintMethod#STREAM}, which falls back per table to the server). */
        public Builder fingerprints(FingerprintMethod method) {
            this.fingerprints = given.once("fingerprints", this.fingerprints, method);
            return this;
        }

        /** Where a directory-format dump is staged (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /** Runs the fingerprint task (default: a new daemon thread per capture); never shut down by the source. */
        public Builder executor(Executor executor) {
            this.executor = given.once("executor", this.executor, executor);
            return this;
        }

        /**
         * Adds an extra pg_dump option, e.g. {@code --exclude-table=audit.*}; repeatable, each call
         * adds one, in order. Options that the source sets itself (format, snapshot, compression,
         * jobs, file, connection) are refused.
         */
        public Builder pgDumpOption(String option) {
            Objects.requireNonNull(option, "option");
            for (String owned : List.of("-F", "--format", "--snapshot", "-Z", "--compress", "-j", "--jobs", "-f", "--file",
                    "-h", "--host", "-p", "--port", "-U", "--username", "-d", "--dbname", "-W", "--password")) {
                if (option.equals(owned) || option.startsWith(owned + "=") || (owned.length() == 2 && option.startsWith(owned))) {
                    throw new IllegalArgumentException("pgDumpOption: '" + option + "' is set by PgDumpSource itself; use "
                            + "format(...), jobs(...) or the endpoint instead");
                }
            }
            extraArgs.add(option);
            return this;
        }

        public PgDumpSource build() {
            return new PgDumpSource(this);
        }
    }
}
