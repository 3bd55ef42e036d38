package dev.backstop.postgres;

import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.ConsistencyPoint;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.SourceInfo;
import dev.backstop.postgres.internal.ReadAhead;
import dev.backstop.postgres.internal.TarStreams;
import dev.backstop.postgres.internal.ToolProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.stream.Stream;

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
 * --snapshot} dumps exactly that state; inside the same transaction, concurrently with the dump,
 * {@link PgFingerprints} records per-table row counts and content hashes and the schema hash, so
 * a restore can be compared for exact equality. The result also carries the server version,
 * database size and the consistency point (snapshot id, snapshot xmin:xmax, WAL LSN, time).
 * pg_dump's own compression is off ({@code -Z 0}) because the pipeline compresses faster.
 * A pg_dump older than the server is refused before anything runs. If pg_dump exits non-zero or
 * dies, capture throws {@link CaptureFailedException} with its exit code and stderr tail, and the
 * pipeline publishes nothing. The password reaches pg_dump only through a private pgpass file.
 *
 * <p><b>Restrictions.</b> {@link DumpFormat#DIRECTORY} dumps in parallel into a temporary
 * directory under {@link Builder#workDir} and then streams it as a tar: it needs free disk for
 * one uncompressed dump there (memory stays bounded). Fingerprinting reads every table once on
 * the server; turn it off with {@link Builder#fingerprints(boolean)} only if a drill will not be
 * run.
 *
 * <p><b>Threading.</b> Immutable; each {@link #capture} uses one thread of the executor for
 * fingerprints while the calling thread streams the dump.
 */
public final class PgDumpSource implements CaptureSource {
    private final PgEndpoint endpoint;
    private final String database;
    private final DumpFormat format;
    private final int jobs;
    private final PgTools tools;
    private final boolean fingerprints;
    private final Path workDir;
    private final Executor executor;
    private final List<String> extraArgs;

    private PgDumpSource(Builder b) {
        this.endpoint = b.endpoint;
        this.database = b.database;
        this.format = b.format;
        this.jobs = b.jobs;
        this.tools = b.tools;
        this.fingerprints = b.fingerprints;
        this.workDir = b.workDir;
        this.executor = b.executor;
        this.extraArgs = List.copyOf(b.extraArgs);
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
                    + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")", null, null, e);
        }
        try (c) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            c.setReadOnly(true);
            Map<String, String> facts = facts(c);
            int serverMajor = Integer.parseInt(facts.get("server_version_num")) / 10000;
            checkVersions(pgDump, dumpMajor, serverMajor, facts.get("server_version"));
            Map<String, String> point = snapshot(c);
            CompletableFuture<Fingerprints> prints = fingerprints
                    ? CompletableFuture.supplyAsync(() -> fingerprintsOf(c), executor)
                    : CompletableFuture.completedFuture(null);
            try {
                dump(pgDump, point.get("snapshot_id"), streams);
            } catch (IOException | RuntimeException e) {
                // stop a fingerprint scan still running on the shared connection, then let it finish failing
                abortQuietly(c);
                awaitQuietly(prints);
                throw e;
            }
            Fingerprints fp = join(prints);
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
                    .attribute("postgresql.pg_dump_major", Integer.toString(dumpMajor));
            if (fp != null) {
                r.fingerprints(fp);
            }
            return r.build();
        } catch (SQLException e) {
            throw new CaptureFailedException("database '" + database + "' at " + endpoint + " failed during capture: "
                    + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")", null, null, e);
        }
    }

    /** Refuses a pg_dump older than the server: it cannot read the newer catalogs correctly. */
    static void checkVersions(Path pgDump, int dumpMajor, int serverMajor, String serverVersion) throws CaptureFailedException {
        if (dumpMajor < serverMajor) {
            throw new CaptureFailedException(pgDump + " is PostgreSQL " + dumpMajor + " but the server is " + serverVersion
                    + "; pg_dump must be the server's major version or newer: configure PgTools.in(<bin dir of PostgreSQL "
                    + serverMajor + " or newer>)", null, null, null);
        }
    }

    private static Map<String, String> facts(Connection c) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT current_setting('server_version_num'), current_setting('server_version'), "
                        + "pg_catalog.pg_database_size(pg_catalog.current_database()), "
                        + "pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype "
                        + "FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()")) {
            rs.next();
            out.put("server_version_num", rs.getString(1));
            out.put("server_version", rs.getString(2).split(" ")[0]);
            out.put("database_size", rs.getString(3));
            out.put("encoding", rs.getString(4));
            out.put("lc_collate", rs.getString(5));
            out.put("lc_ctype", rs.getString(6));
        }
        return out;
    }

    /** Exports the transaction's snapshot and records where in history it stands. */
    private static Map<String, String> snapshot(Connection c) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT pg_catalog.pg_export_snapshot(), pg_catalog.pg_current_snapshot()::text, "
                        + "CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn() "
                        + "ELSE pg_catalog.pg_current_wal_lsn() END::text, "
                        + "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")) {
            rs.next();
            out.put("snapshot_id", rs.getString(1));
            out.put("snapshot", rs.getString(2));
            out.put("lsn", rs.getString(3));
            out.put("timestamp", rs.getString(4));
        }
        return out;
    }

    private void dump(Path pgDump, String snapshotId, Streams streams) throws IOException {
        List<String> args = new ArrayList<>(List.of("--format=" + format.flag(), "--snapshot=" + snapshotId,
                "--dbname=" + database));
        if (format != DumpFormat.PLAIN) {
            args.add("--compress=0");
        }
        args.addAll(extraArgs);
        if (format == DumpFormat.DIRECTORY) {
            dumpDirectory(pgDump, args, streams);
            return;
        }
        try (ToolProcess p = ToolProcess.start(pgDump, args, endpoint, null, ProcessBuilder.Redirect.PIPE)) {
            long bytes = 0;
            // read ahead on another thread: pg_dump keeps dumping while this thread compresses
            try (OutputStream out = streams.open(format.streamName());
                 InputStream in = new ReadAhead(p.stdout(), 256 * 1024, 16, "pg_dump")) {
                byte[] buf = new byte[256 * 1024];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    bytes += n;
                }
            }
            int exit = p.waitFor();
            if (exit != 0) {
                throw new CaptureFailedException("pg_dump of database '" + database + "' failed after " + bytes + " bytes",
                        exit, p.stderrTail(), null);
            }
        }
    }

    private void dumpDirectory(Path pgDump, List<String> args, Streams streams) throws IOException {
        Path tmp = Files.createTempDirectory(workDir, "backstop-pgdump-");
        try {
            Path dir = tmp.resolve("dump");
            args.add("--jobs=" + jobs);
            args.add("--file=" + dir);
            try (ToolProcess p = ToolProcess.start(pgDump, args, endpoint, null, ProcessBuilder.Redirect.DISCARD)) {
                int exit = p.waitFor();
                if (exit != 0) {
                    throw new CaptureFailedException("pg_dump -Fd -j " + jobs + " of database '" + database + "' failed", exit,
                            p.stderrTail(), null);
                }
            }
            try (OutputStream out = streams.open(format.streamName())) {
                TarStreams.write(dir, out);
            }
        } finally {
            deleteTree(tmp);
        }
    }

    private Fingerprints fingerprintsOf(Connection c) {
        try {
            return PgFingerprints.compute(c);
        } catch (SQLException e) {
            throw new IllegalStateException("fingerprints of database '" + database + "' failed: " + e.getMessage()
                    + " (SQLSTATE " + e.getSQLState() + ")", e);
        }
    }

    private Fingerprints join(CompletableFuture<Fingerprints> f) throws CaptureFailedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw new CaptureFailedException(e.getCause().getMessage(), null, null, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CaptureFailedException("interrupted while fingerprinting database '" + database + "'", null, null, e);
        }
    }

    private void abortQuietly(Connection c) {
        try {
            c.abort(Runnable::run);
        } catch (SQLException | RuntimeException ignored) {
            // the capture already failed; closing is all that is left to do
        }
    }

    /** Waits for a fingerprint run to leave the shared connection before it is closed. */
    private static void awaitQuietly(CompletableFuture<?> f) {
        try {
            f.exceptionally(t -> null).get();
        } catch (Exception ignored) {
            // the capture already failed; this only orders the connection's close
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: temporary data under the work directory
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    @Override
    public String toString() {
        return "PgDumpSource[" + database + " at " + endpoint + ", " + format.label()
                + (format == DumpFormat.DIRECTORY ? " -j " + jobs : "") + "]";
    }

    /** Builder for {@link PgDumpSource}; each setting may be given once. */
    public static final class Builder {
        private final PgEndpoint endpoint;
        private final String database;
        private DumpFormat format = DumpFormat.CUSTOM;
        private int jobs = 2;
        private PgTools tools = PgTools.locate();
        private boolean fingerprints = true;
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private Executor executor = r -> {
            Thread t = new Thread(r, "backstop-pg-fingerprints");
            t.setDaemon(true);
            t.start();
        };
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
            this.format = Objects.requireNonNull(format, "format");
            return this;
        }

        /** Parallel jobs for {@link DumpFormat#DIRECTORY} (default 2); ignored by other formats. */
        public Builder jobs(int jobs) {
            if (jobs < 1 || jobs > 64) {
                throw new IllegalArgumentException("jobs: got " + jobs + ", must be 1..64");
            }
            this.jobs = jobs;
            return this;
        }

        /** Where the programs are found ({@link PgTools#locate()} by default). */
        public Builder tools(PgTools tools) {
            this.tools = Objects.requireNonNull(tools, "tools");
            return this;
        }

        /** Whether to record fingerprints in the snapshot (default true; a drill needs them). */
        public Builder fingerprints(boolean fingerprints) {
            this.fingerprints = fingerprints;
            return this;
        }

        /** Where a directory-format dump is staged (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = Objects.requireNonNull(workDir, "workDir");
            return this;
        }

        /** Runs the fingerprint task (default: a new daemon thread per capture); never shut down by the source. */
        public Builder executor(Executor executor) {
            this.executor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /**
         * Extra pg_dump options, e.g. {@code --exclude-table=audit.*}. Options that the source sets
         * itself (format, snapshot, compression, jobs, file, connection) are refused.
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
