package dev.backstop.mysql;

import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.mysql.internal.OptionFile;
import dev.backstop.core.BackupException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.source.CommandSource.StderrTail;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a logical MariaDB/MySQL backup ({@link MariaDbDumpSource}) into a database.
 *
 * <pre>{@code
 * MariaDbRestore.builder(restore, MariaDbEndpoint.of("127.0.0.1", 3306, "admin", pw), "shop_restored")
 *     .build()
 *     .run(restore.latest());
 * }</pre>
 *
 * <p><b>Guarantees.</b> The decoded dump streams into {@link Builder#jobs} {@code mariadb} client
 * sessions (an InnoDB table's rows spread over every session, statement by statement; any other
 * table whole in one; with more than one session an InnoDB table with a primary key loads into
 * that key alone and gets its secondary indexes, then its foreign keys, once every table is
 * loaded; views, routines and events load last) loading a new staging database {@code
 * <target>__bs_<random>}
 * while the stream is verified (stored
 * SHA-256, AEAD authentication, plaintext SHA-256, all checked by the time the stream ends).
 * Only once the stream ended verified and the client exited 0 is anything moved into the
 * target: all tables at once in one atomic {@code RENAME TABLE}, then views, triggers, routines
 * and events re-created there from their definitions in staging (with the SQL mode, character
 * set and time zone they were created under), and the staging database is dropped. A corrupted,
 * truncated or wrongly keyed backup, or a failing load, leaves the target untouched (not even
 * created) and the staging database dropped. If re-creating an object in the target fails, a
 * target this restore created is dropped again. A target holding any table, view, routine or
 * event is refused. The target is created with the source database's default character set and
 * collation.
 *
 * <p><b>Restrictions.</b> Needs the right to create and drop databases, and to create objects
 * with other definers (the dump keeps them). Between the table rename and the last re-created
 * object, the target has its tables without all of their triggers (a moment; the target is new).
 * Sessions inserting into one table can deadlock or time out waiting for a lock on the server
 * (errors 1213 and 1205); such a load, which changed nothing but its staging database, is
 * dropped with it and run again into a new one, three times in all. With {@code jobs(1)} the
 * dump loads exactly as written,
 * secondary indexes maintained as rows arrive.
 * MariaDB has no {@code RENAME DATABASE}, hence the move.
 *
 * <p><b>Threading.</b> Immutable; {@link #run} may be called concurrently for different targets.
 */
public final class MariaDbRestore {
    private static final Logger LOG = LoggerFactory.getLogger(MariaDbRestore.class);
    /** The session setting of a restore that does not write the target's binary log. */
    static final String NO_BINLOG = "SET SESSION sql_log_bin = 0";
    /** The character set every load session starts with: the dump's, set by the capture's --default-character-set. */
    private static final String SESSION_CHARSET = "SET NAMES utf8mb4";
    private static final SecureRandom STAGING_IDS = new SecureRandom();
    /** Loads into a staging database before a transient server error fails the restore. */
    private static final int LOAD_ATTEMPTS = 3;
    /** A client's report of a deadlock (1213) or a lock wait timeout (1205). */
    private static final Pattern TRANSIENT_LOAD_ERROR = Pattern.compile("\\bERROR 12(13|05) \\(");

    private final Restore restore;
    private final MariaDbEndpoint target;
    private final String database;
    private final MariaDbTools tools;
    private final Path workDir;
    private final int jobs;
    private final boolean writeBinlog;
    private final ThreadFactory threads;

    private MariaDbRestore(Builder b) {
        this.restore = b.restore;
        this.target = b.target;
        this.database = b.database;
        this.tools = b.tools;
        this.workDir = b.workDir;
        this.jobs = b.jobs;
        this.writeBinlog = b.writeBinlog;
        this.threads = b.threads;
    }

    /** Restores through {@code restore} into {@code database} on {@code target}. */
    public static Builder builder(Restore restore, MariaDbEndpoint target, String database) {
        return new Builder(restore, target, database);
    }

    /**
     * What one restore did: the plaintext bytes loaded, the time to fetch, verify and load
     * (overlapping), the time to move the verified objects into the target, and warnings: each
     * trigger, routine or event that names the backed-up database in its body, restored into a
     * database of another name (it still reads or writes the backed-up one; also logged as {@code
     * restore.names_source}).
     */
    public record Report(String database, long plaintextBytes, Duration fetchVerifyAndLoad, Duration move, List<String> warnings) {
        public Report {
            warnings = List.copyOf(warnings);
        }

        /** The recovery time. */
        public Duration total() {
            return fetchVerifyAndLoad.plus(move);
        }
    }

    /**
     * Restores the backup {@code m}, logging its start, its report and a failure under the MDC of
     * a restore (see {@link dev.backstop.core.BackupPipeline}).
     */
    public Report run(Manifest m) {
        LogContext.Scope log = LogContext.open(restore.repository().sink()).backupId(m.id()).stage(Stage.RESTORE);
        try {
            LOG.atInfo().addKeyValue("event", "restore.started").addKeyValue("backup.id", m.id().value())
                    .addKeyValue("database", database).log("restore of {} into database {} started", m.id(), database);
            Report r = load(m);
            LOG.atInfo().addKeyValue("event", "restore.finished").addKeyValue("backup.id", m.id().value())
                    .addKeyValue("database", database).addKeyValue("bytes", r.plaintextBytes())
                    .addKeyValue("load.ms", r.fetchVerifyAndLoad().toMillis()).addKeyValue("move.ms", r.move().toMillis())
                    .log("restore of {} into database {} finished", m.id(), database);
            return r;
        } catch (RuntimeException e) {
            LOG.atError().addKeyValue("event", "restore.failed").addKeyValue("backup.id", m.id().value())
                    .addKeyValue("database", database).log("restore of {} into database {} failed: {}", m.id(), database,
                            e.getMessage());
            throw e;
        } finally {
            log.close();
        }
    }

    private Report load(Manifest m) {
        String engine = m.source().engine();
        if (!("mariadb".equals(engine) || "mysql".equals(engine)) || !"sql".equals(m.attributes().get("mariadb.format"))) {
            throw new BackupException(Stage.CONFIGURE, "backup " + m.id() + " is not a MariaDB/MySQL logical backup (engine "
                    + engine + ", mariadb.format " + m.attributes().get("mariadb.format") + ")", null, false, m.id());
        }
        Path client;
        try {
            client = tools.tool("mysql".equals(engine) ? "mysql" : "mariadb");
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.CONFIGURE, e.getReason(), e, false, m.id());
        }
        boolean exists = checkTarget(m);
        String charset = m.attributes().getOrDefault("mariadb.database_charset", "utf8mb4");
        String collation = m.attributes().get("mariadb.database_collation");
        long start = System.nanoTime();
        for (int attempt = 1; ; attempt++) {
            try {
                return loadAndMove(m, client, exists, charset, collation, start);
            } catch (BackupException e) {
                if (attempt >= LOAD_ATTEMPTS || !(e.getCause() instanceof IOException) || !transientLoadFailure(e.getMessage())) {
                    throw e;
                }
                LOG.atWarn().addKeyValue("event", "restore.load_retried").addKeyValue("backup.id", m.id().value())
                        .addKeyValue("attempt", attempt).log("the load of {} into a staging database failed on a transient "
                                + "server error, loading it again into a new one: {}", m.id(), e.getMessage());
            }
        }
    }

    /**
     * Whether a load session ended on a server error that a second load can avoid: a deadlock or
     * a lock wait timeout between the sessions inserting into the same table. The failed load
     * changed nothing but its own staging database, which is dropped.
     */
    static boolean transientLoadFailure(String message) {
        return message != null && TRANSIENT_LOAD_ERROR.matcher(message).find();
    }

    private Report loadAndMove(Manifest m, Path client, boolean exists, String charset, String collation, long start) {
        String staging = stagingName();
        boolean stagingCreated = false;
        try {
            execute(null, "CREATE DATABASE " + Sql.ident(staging) + defaults(charset, collation));
            stagingCreated = true;
            long bytes = load(m, client, staging);
            Duration loaded = Duration.ofNanos(System.nanoTime() - start);
            long moveStart = System.nanoTime();
            List<String> warnings = new StagingMove(target, staging, database, m.attributes().get("mariadb.database"), writeBinlog)
                    .run(!exists, defaults(charset, collation));
            for (String w : warnings) {
                LOG.atWarn().addKeyValue("event", "restore.names_source").addKeyValue("backup.id", m.id().value()).log(w);
            }
            return new Report(database, bytes, loaded, Duration.ofNanos(System.nanoTime() - moveStart), warnings);
        } catch (SQLException e) {
            throw new BackupException(Stage.RESTORE, "restoring " + m.id() + " into database '" + database + "' at " + target
                    + " failed: " + e.getMessage() + " (error " + e.getErrorCode() + ")", e, ServerErrors.retryable(e), m.id());
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "restoring " + m.id() + " into database '" + database + "' at " + target
                    + " failed: " + e.getMessage(), e, false, m.id());
        } finally {
            if (stagingCreated) {
                dropQuietly(staging);
            }
        }
    }

    private String stagingName() {
        String suffix = "__bs_" + Long.toHexString(STAGING_IDS.nextLong() & Long.MAX_VALUE);
        String base = database.length() + suffix.length() > 64 ? database.substring(0, 64 - suffix.length()) : database;
        return base + suffix;
    }

    private static String defaults(String charset, String collation) {
        return " CHARACTER SET " + Sql.ident(charset) + (collation == null ? "" : " COLLATE " + Sql.ident(collation));
    }

    /** Whether the target database exists; refuses a non-empty one. Changes nothing. */
    private boolean checkTarget(Manifest m) {
        try (Connection c = target.connect(null)) {
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")) {
                ps.setString(1, database);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return false;
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT kind, name FROM ("
                    + "SELECT 'table' kind, TABLE_NAME name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? "
                    + "UNION ALL SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? "
                    + "UNION ALL SELECT 'event', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?) x ORDER BY 1, 2")) {
                ps.setString(1, database);
                ps.setString(2, database);
                ps.setString(3, database);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        throw new BackupException(Stage.RESTORE, "target database '" + database + "' at " + target
                                + " is not empty: it holds " + rs.getString(1) + " " + rs.getString(2)
                                + "; restore into a new or empty database", null, false, m.id());
                    }
                }
            }
            return true;
        } catch (SQLException e) {
            throw new BackupException(Stage.RESTORE, "could not inspect the restore target '" + database + "' at " + target + ": "
                    + e.getMessage(), e, ServerErrors.retryable(e), m.id());
        }
    }

    /** Streams the verified dump into the client sessions loading {@code staging}; returns the plaintext bytes. */
    private long load(Manifest m, Path client, String staging) throws IOException {
        try (OptionFile options = OptionFile.create(target, workDir)) {
            // The client reads the dump as single bytes and the server is told the dump's character
            // set: the client only looks for the ASCII quotes, backslashes and semicolons that end
            // statements, which no byte of a UTF-8 sequence can be, so it finds the same ones, and
            // with utf8mb4 it spent a third more CPU checking every byte for a multi-byte character.
            List<String> command = new ArrayList<>(List.of(client.toString(), options.argument(), "--binary-mode", "--batch",
                    "--default-character-set=latin1", "--database=" + staging));
            command.add("--init-command=" + SESSION_CHARSET + (writeBinlog ? "" : ", SESSION sql_log_bin = 0"));
            ClientSessions sessions = new ClientSessions(command, client.getFileName().toString());
            try (InputStream in = restore.open(m, MariaDbDumpSource.STREAM)) {
                if (jobs > 1) {
                    return new ParallelLoad(sessions, jobs, workDir, threads).run(in);
                }
                return loadInOneSession(sessions, in);
            }
        }
    }

    private static long loadInOneSession(ClientSessions sessions, InputStream in) throws IOException {
        Process p = sessions.start();
        long bytes = 0;
        try {
            try (OutputStream out = p.getOutputStream()) {
                byte[] buf = new byte[256 * 1024];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    bytes += n;
                }
            } catch (IOException e) {
                if (!p.isAlive()) {
                    sessions.finish(p, "the load session after " + bytes + " bytes");
                }
                throw e;
            }
            sessions.finish(p, "the load session");
            return bytes;
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /** Client processes reading SQL from standard input, each with its stderr tail. */
    private static final class ClientSessions implements ParallelLoad.Sessions {
        private final List<String> command;
        private final String name;
        private final Map<Process, StderrTail> tails = new ConcurrentHashMap<>();

        ClientSessions(List<String> command, String name) {
            this.command = command;
            this.name = name;
        }

        @Override
        public Process start() throws IOException {
            ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD);
            for (String v : List.of("MYSQL_PWD", "MYSQL_HOST", "MYSQL_TCP_PORT", "MYSQL_UNIX_PORT")) {
                pb.environment().remove(v);
            }
            Process p = pb.start();
            DumpProcess.logStarted(name, p, command);
            tails.put(p, StderrTail.logged(p.getErrorStream(), name));
            return p;
        }

        @Override
        public void finish(Process p, String what) throws IOException {
            int exit;
            try {
                exit = p.waitFor();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for " + name, e);
            }
            DumpProcess.logExit(name, p, exit);
            if (exit != 0) {
                throw new IOException(name + " exited " + exit + " in " + what + ": " + tails.get(p).await().strip());
            }
        }
    }

    private void execute(String db, String sql) throws SQLException {
        try (Connection c = target.connect(db); Statement st = c.createStatement()) {
            if (!writeBinlog) {
                st.execute(NO_BINLOG);
            }
            st.execute(sql);
        }
    }

    private void dropQuietly(String name) {
        try {
            execute(null, "DROP DATABASE IF EXISTS " + Sql.ident(name));
        } catch (SQLException ignored) {
            // the restore already failed or finished; a leftover staging database has a recognisable name
        }
    }

    /** Builder for {@link MariaDbRestore}; a setting given twice is refused. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Restore restore;
        private final MariaDbEndpoint target;
        private final String database;
        private MariaDbTools tools = MariaDbTools.locate();
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private int jobs = 2;
        private boolean writeBinlog = true;
        private ThreadFactory threads = DaemonThreads.numbered("backstop-mariadb-load");

        private Builder(Restore restore, MariaDbEndpoint target, String database) {
            this.restore = Objects.requireNonNull(restore, "restore");
            this.target = Objects.requireNonNull(target, "target");
            this.database = Objects.requireNonNull(database, "database");
            if (database.isBlank() || database.length() > 64) {
                throw new IllegalArgumentException("database: got '" + database + "', need a database name of 1..64 characters");
            }
        }

        /** Where the client program is found ({@link MariaDbTools#locate()} by default). */
        public Builder tools(MariaDbTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Where the private option file is written (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /**
         * How many client sessions load tables at once (default 2, 1..64): an InnoDB table's rows
         * are spread over them, any other table goes whole to one; secondary indexes and foreign
         * keys are added after all rows, indexes spread over the same number of sessions; views,
         * routines and events load after all tables. 1 loads the dump as written, in one session.
         */
        public Builder jobs(int jobs) {
            if (jobs < 1 || jobs > 64) {
                throw new IllegalArgumentException("jobs: got " + jobs + ", must be 1..64");
            }
            given.onceNullable("jobs", this.jobs, jobs);
            this.jobs = jobs;
            return this;
        }

        /**
         * Whether the restore's statements go to the target's binary log (default true, as with
         * {@code mariadb < dump}). False runs every session of the restore with {@code sql_log_bin
         * = 0} (needs the SUPER or BINLOG ADMIN privilege): the rows are written once instead of
         * also as row events, as {@code myloader} loads by default, but neither replicas nor a
         * binlog-based point-in-time recovery of the target see the restored database. For a
         * throwaway server, such as a drill's.
         */
        public Builder writeBinlog(boolean writeBinlog) {
            this.writeBinlog = given.once("writeBinlog", this.writeBinlog, writeBinlog);
            return this;
        }

        /**
         * Makes the threads that feed the client sessions of a load with more than one {@link #jobs
         * job}, one per session while it runs (default: daemon threads named {@code
         * backstop-mariadb-load-n}). The restore starts the threads it is given and ends them by
         * closing the sessions' input; it never keeps one past {@link MariaDbRestore#run}'s return.
         */
        public Builder threads(ThreadFactory threads) {
            this.threads = given.once("threads", "a thread factory", threads);
            return this;
        }

        public MariaDbRestore build() {
            return new MariaDbRestore(this);
        }
    }
}
