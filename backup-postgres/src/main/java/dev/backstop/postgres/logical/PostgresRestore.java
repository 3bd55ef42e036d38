package dev.backstop.postgres.logical;

import dev.backstop.core.BackupException;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.internal.RoleThreads;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores a logical PostgreSQL backup into a database.
 *
 * <pre>{@code
 * PostgresRestore.builder(restore, PgEndpoint.of("127.0.0.1", 5432, "postgres", pw), "shop_restored")
 *     .jobs(4)
 *     .build()
 *     .run(restore.latest());
 * }</pre>
 *
 * <p><b>Guarantees.</b> Every object is verified in full (stored SHA-256, AEAD authentication,
 * plaintext SHA-256) before anything touches the target: a corrupted, truncated or wrongly keyed
 * backup fails with {@link IntegrityException} and the target is left as it was (not even
 * created). Two ways get there:
 * <ul>
 *   <li><b>Streaming</b> (the default when the target does not exist yet and the dump is custom
 *   or plain): the decoded stream flows straight into one {@code pg_restore}/{@code psql}
 *   session loading a new staging database {@code backstop_staging_<random>}; only after the
 *   stream ended verified and the tool exited 0 is the staging database renamed to the target.
 *   On any failure the staging database is dropped. No spool, and decoding overlaps loading.
 *   For a custom dump with {@link Builder#jobs} &gt; 1 the dump's head, which holds its table of
 *   contents, is kept in a temporary file (read while the server creates the staging database;
 *   the table of contents, of any size, and at most 256 KiB after it): {@code pg_restore} creates the
 *   schema from it, the stream's table data is then cut into line-aligned slices loaded by
 *   {@code jobs} COPY sessions at once (even one big table uses them all). Indexes, keys,
 *   triggers and grants of a table are restored (by {@code pg_restore} from the head) as soon as
 *   its data is in, foreign keys as soon as both their tables and the referenced key are (added
 *   {@code NOT VALID}, then validated, in sessions of this restore), and what remains, such as
 *   sequence values, by {@code pg_restore -j N} at the end. Dumps this cannot read (compressed by pg_dump, not UTF-8, with large objects, or an
 *   archive version newer than 1.15) and subsets load their data in one session instead.
 *   <li><b>Spooled</b> (an existing target, a directory dump, or {@link Builder#streaming(boolean)
 *   streaming(false)}): the stream is decoded and verified into a private temporary spool, which
 *   {@code pg_restore -j N} then loads. The spool is deleted afterwards in every case.
 * </ul>
 * A target holding any user relation is refused unless {@link Builder#allowNonEmpty(boolean)}.
 * Restores use {@code pg_restore --exit-on-error}, plain dumps {@code psql -v ON_ERROR_STOP=1}
 * in one transaction; a failure is a {@link BackupException} at {@link Stage#RESTORE} with the
 * tool's stderr tail.
 *
 * <p><b>Restrictions.</b> Streaming needs the right to create and rename databases; for an
 * archive version this cannot read, the table of contents must fit in the first 16 MiB for
 * {@code pg_restore} to build indexes and constraints with {@code jobs} jobs. The spool needs free disk in
 * {@link Builder#workDir} for one uncompressed dump. Subsets of schemas or tables need a custom or
 * directory dump.
 *
 * <p><b>Threading.</b> Immutable; {@link #run} may be called concurrently for different targets.
 */
public final class PostgresRestore {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresRestore.class);
    private final String repository;
    private final String database;
    private final boolean allowNonEmpty;
    private final List<String> schemas;
    private final List<String> tables;
    private final boolean streaming;
    private final Set<String> dataOf;
    private final RestoreTools programs;
    private final TargetServer server;
    private final StreamedRestore streamed;
    private final SpooledRestore spooled;

    private PostgresRestore(Builder b) {
        this.repository = b.restore.repository().sink().toString();
        this.database = b.database;
        this.allowNonEmpty = b.allowNonEmpty;
        this.schemas = List.copyOf(b.schemas);
        this.tables = List.copyOf(b.tables);
        this.streaming = b.streaming;
        this.dataOf = b.dataOf == null ? null : Set.copyOf(b.dataOf);
        this.programs = new RestoreTools(b.target, b.tools, b.noOwner, schemas, tables);
        this.server = new TargetServer(b.target);
        RoleThreads threads = RoleThreads.of(b.threadFactory);
        this.streamed = new StreamedRestore(b.restore, b.target, database, b.jobs, schemas, tables, b.workDir, programs, server, threads);
        this.spooled = new SpooledRestore(b.restore, b.target, database, b.jobs, b.workDir, dataOf, programs, server, threads);
    }

    /** Restores through {@code restore} into {@code database} on {@code target}. */
    public static Builder builder(Restore restore, PgEndpoint target, String database) {
        return new Builder(restore, target, database);
    }

    /**
     * What one restore did and how long each part took. {@code dataSessions} is how many database
     * sessions loaded table data at once: {@link Builder#jobs} when the streamed custom dump was
     * loaded by parallel COPY, otherwise 1 for a streamed restore and {@code jobs} for a spooled one.
     * In a streamed restore {@code fetchAndVerify} includes the loading of table data that overlaps it.
     */
    public record Report(String database, long plaintextBytes, Duration fetchAndVerify, Duration load, int dataSessions) {
        /** Fetch, verify and load together: the recovery time. */
        public Duration total() {
            return fetchAndVerify.plus(load);
        }
    }

    /**
     * Restores the backup {@code m}, logging its start, its report and a failure under the MDC of
     * a restore (see {@link dev.backstop.core.BackupPipeline}).
     */
    public Report run(Manifest m) {
        LogContext.Scope log = LogContext.open(repository).backupId(m.id()).stage(Stage.RESTORE);
        try {
            LOG.atInfo().addKeyValue("event", "restore.started").addKeyValue("backup.id", m.id().value())
                    .addKeyValue("database", database).log("restore of {} into database {} started", m.id(), database);
            Report r = restore(m);
            LOG.atInfo().addKeyValue("event", "restore.finished").addKeyValue("backup.id", m.id().value())
                    .addKeyValue("database", database).addKeyValue("bytes", r.plaintextBytes())
                    .addKeyValue("fetch.ms", r.fetchAndVerify().toMillis()).addKeyValue("load.ms", r.load().toMillis())
                    .addKeyValue("sessions", r.dataSessions()).log("restore of {} into database {} finished", m.id(), database);
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

    private Report restore(Manifest m) {
        DumpFormat format = formatOf(m);
        if (format == DumpFormat.PLAIN && dataOf != null) {
            throw new BackupException(Stage.CONFIGURE, "backup " + m.id() + " is a plain SQL dump: restoring the data of only "
                    + dataOf.size() + " tables needs a custom or directory dump", null, false, m.id());
        }
        if (format == DumpFormat.PLAIN && (!schemas.isEmpty() || !tables.isEmpty())) {
            throw new BackupException(Stage.CONFIGURE, "backup " + m.id() + " is a plain SQL dump: restoring only schemas "
                    + schemas + " / tables " + tables + " needs a custom or directory dump", null, false, m.id());
        }
        Path program = programs.program(m, format == DumpFormat.PLAIN ? "psql" : "pg_restore");
        boolean exists = server.checkTarget(m, database, allowNonEmpty);
        if (streaming && dataOf == null && !exists && format != DumpFormat.DIRECTORY) {
            return streamed.run(m, format, program);
        }
        return spooled.run(m, format, program, exists);
    }

    static DumpFormat formatOf(Manifest m) {
        String label = m.attributes().get("postgresql.format");
        if (label == null || !"postgresql".equals(m.source().engine())) {
            throw new BackupException(Stage.CONFIGURE, "backup " + m.id() + " is not a PostgreSQL logical backup (engine "
                    + m.source().engine() + ", postgresql.format " + label + ")", null, false, m.id());
        }
        return DumpFormat.fromLabel(label);
    }

    /** Builder for {@link PostgresRestore}. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Restore restore;
        private final PgEndpoint target;
        private final String database;
        private int jobs = 2;
        private boolean allowNonEmpty;
        private boolean noOwner;
        private final List<String> schemas = new ArrayList<>();
        private final List<String> tables = new ArrayList<>();
        private PgTools tools = PgTools.locate();
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private boolean streaming = true;
        private Set<String> dataOf;
        private ThreadFactory threadFactory;

        private Builder(Restore restore, PgEndpoint target, String database) {
            this.restore = Objects.requireNonNull(restore, "restore");
            this.target = Objects.requireNonNull(target, "target");
            this.database = Objects.requireNonNull(database, "database");
            if (database.isBlank() || database.contains("=")) {
                throw new IllegalArgumentException("database: got '" + database + "', need a database name (no '=')");
            }
        }

        /** Parallel pg_restore jobs (default 2); plain dumps load in one session regardless. */
        public Builder jobs(int jobs) {
            if (jobs < 1 || jobs > 64) {
                throw new IllegalArgumentException("jobs: got " + jobs + ", must be 1..64");
            }
            this.jobs = given.once("jobs", this.jobs, jobs);
            return this;
        }

        /** Whether a target that already holds relations may be restored into (default false). */
        public Builder allowNonEmpty(boolean allowNonEmpty) {
            this.allowNonEmpty = given.once("allowNonEmpty", this.allowNonEmpty, allowNonEmpty);
            return this;
        }

        /**
         * Skips ownership and privileges (pg_restore {@code --no-owner --no-privileges}), for
         * targets that lack the source's roles, such as a drill's throwaway server. Default false.
         */
        public Builder noOwner(boolean noOwner) {
            this.noOwner = given.once("noOwner", this.noOwner, noOwner);
            return this;
        }

        /** Restores only this schema (repeatable); needs a custom or directory dump. */
        public Builder schema(String schema) {
            schemas.add(Objects.requireNonNull(schema, "schema"));
            return this;
        }

        /** Restores only this table (repeatable, pg_restore {@code --table}); needs a custom or directory dump. */
        public Builder table(String table) {
            tables.add(Objects.requireNonNull(table, "table"));
            return this;
        }

        public Builder tools(PgTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Where the verified dump is spooled (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /**
         * Whether a custom or plain dump for a target that does not exist yet streams into a
         * staging database renamed on success (default true: no spool, decoding overlaps loading,
         * one session) or is spooled first and loaded with {@link #jobs} (false).
         */
        public Builder streaming(boolean streaming) {
            this.streaming = given.once("streaming", this.streaming, streaming);
            return this;
        }

        /**
         * Restores every object but the data of only these tables ({@code schema.table}, unquoted),
         * through a spool; needs a custom or directory dump. For sampled drills: the other tables
         * exist, empty.
         */
        Builder dataOnlyOf(Set<String> tables) {
            this.dataOf = given.once("dataOnlyOf", this.dataOf, Set.copyOf(tables));
            return this;
        }

        /**
         * Makes the restore's threads: read-ahead of the backup, the parallel loading and
         * after-data sessions, database creation (default: daemon threads named {@code backstop-*}
         * after their role).
         */
        public Builder threadFactory(ThreadFactory threadFactory) {
            this.threadFactory = given.once("threadFactory", this.threadFactory, threadFactory);
            return this;
        }

        public PostgresRestore build() {
            return new PostgresRestore(this);
        }
    }
}
