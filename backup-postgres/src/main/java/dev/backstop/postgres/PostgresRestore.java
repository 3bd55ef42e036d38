package dev.backstop.postgres;

import dev.backstop.core.BackupException;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.postgres.internal.AfterData;
import dev.backstop.postgres.internal.CustomDump;
import dev.backstop.postgres.internal.ParallelCopy;
import dev.backstop.postgres.internal.ReadAhead;
import dev.backstop.postgres.internal.RestoreSessions;
import dev.backstop.postgres.internal.TarStreams;
import dev.backstop.postgres.internal.ToolProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

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
 * directory dump. Longer than most classes: the two restore paths share target checks and tool
 * arguments, and splitting them would spread one guarantee over two files.
 *
 * <p><b>Threading.</b> Immutable; {@link #run} may be called concurrently for different targets.
 */
public final class PostgresRestore {
    private static final SecureRandom STAGING_IDS = new SecureRandom();
    /** How much of a streamed custom dump is kept to find its table of contents (bytes, on disk). */
    private static final long TOC_HEAD = 16L << 20;
    private final Restore restore;
    private final PgEndpoint target;
    private final String database;
    private final int jobs;
    private final boolean allowNonEmpty;
    private final boolean noOwner;
    private final List<String> schemas;
    private final List<String> tables;
    private final PgTools tools;
    private final Path workDir;
    private final boolean streaming;
    private final Set<String> dataOf;

    private PostgresRestore(Builder b) {
        this.restore = b.restore;
        this.target = b.target;
        this.database = b.database;
        this.jobs = b.jobs;
        this.allowNonEmpty = b.allowNonEmpty;
        this.noOwner = b.noOwner;
        this.schemas = List.copyOf(b.schemas);
        this.tables = List.copyOf(b.tables);
        this.tools = b.tools;
        this.workDir = b.workDir;
        this.streaming = b.streaming;
        this.dataOf = b.dataOf == null ? null : Set.copyOf(b.dataOf);
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

    /** Restores the backup {@code m}. */
    public Report run(Manifest m) {
        DumpFormat format = formatOf(m);
        if (format == DumpFormat.PLAIN && dataOf != null) {
            throw new BackupException(Stage.CONFIGURE, "backup " + m.id() + " is a plain SQL dump: restoring the data of only "
                    + dataOf.size() + " tables needs a custom or directory dump", null, false, m.id());
        }
        if (format == DumpFormat.PLAIN && (!schemas.isEmpty() || !tables.isEmpty())) {
            throw new BackupException(Stage.CONFIGURE, "backup " + m.id() + " is a plain SQL dump: restoring only schemas "
                    + schemas + " / tables " + tables + " needs a custom or directory dump", null, false, m.id());
        }
        Path program = program(m, format == DumpFormat.PLAIN ? "psql" : "pg_restore");
        boolean exists = checkTarget(m);
        if (streaming && dataOf == null && !exists && format != DumpFormat.DIRECTORY) {
            return stream(m, format, program);
        }
        Path spool = null;
        try {
            spool = Files.createTempDirectory(workDir, "backstop-restore-");
            long start = System.nanoTime();
            Path input = spool.resolve(format == DumpFormat.DIRECTORY ? "dump" : format.streamName());
            long bytes = fetch(m, format, input);
            Duration fetched = Duration.ofNanos(System.nanoTime() - start);
            if (!exists) {
                createDatabase(m, database);
            }
            long loadStart = System.nanoTime();
            load(m, format, program, input, database);
            return new Report(database, bytes, fetched, Duration.ofNanos(System.nanoTime() - loadStart),
                    format == DumpFormat.PLAIN ? 1 : jobs);
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "restoring " + m.id() + " into database '" + database + "' at " + target
                    + " failed: " + e.getMessage(), e, false, m.id());
        } finally {
            if (spool != null) {
                PgDumpSource.deleteTree(spool);
            }
        }
    }

    static DumpFormat formatOf(Manifest m) {
        String label = m.attributes().get("postgresql.format");
        if (label == null || !"postgresql".equals(m.source().engine())) {
            throw new BackupException(Stage.CONFIGURE, "backup " + m.id() + " is not a PostgreSQL logical backup (engine "
                    + m.source().engine() + ", postgresql.format " + label + ")", null, false, m.id());
        }
        return DumpFormat.fromLabel(label);
    }

    private Path program(Manifest m, String name) {
        try {
            return tools.tool(name);
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.CONFIGURE, e.getReason(), e, false, m.id());
        }
    }

    /** Whether the target database exists; refuses a non-empty one unless allowed. Changes nothing. */
    private boolean checkTarget(Manifest m) {
        try (Connection c = target.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT 1 FROM pg_catalog.pg_database WHERE datname = "
                     + quoteLiteral(database))) {
            if (!rs.next()) {
                return false;
            }
        } catch (SQLException e) {
            throw new BackupException(Stage.RESTORE, "could not reach the restore target " + target + ": " + e.getMessage(),
                    e, true, m.id());
        }
        if (allowNonEmpty) {
            return true;
        }
        try (Connection c = target.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), min(n.nspname || '.' || c.relname) FROM pg_catalog.pg_class c "
                     + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'information_schema' "
                     + "AND n.nspname NOT LIKE 'pg\\_%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')")) {
            rs.next();
            long n = rs.getLong(1);
            if (n > 0) {
                throw new BackupException(Stage.RESTORE, "target database '" + database + "' at " + target + " is not empty: it has "
                        + n + " relations (e.g. " + rs.getString(2) + "); restore into a new database or pass "
                        + "allowNonEmpty(true)", null, false, m.id());
            }
            return true;
        } catch (SQLException e) {
            throw new BackupException(Stage.RESTORE, "could not inspect target database '" + database + "' at " + target + ": "
                    + e.getMessage(), e, true, m.id());
        }
    }

    /** Decodes and verifies the dump into the spool; nothing after this reads the repository. */
    private long fetch(Manifest m, DumpFormat format, Path input) throws IOException {
        // three threads: Restore's decode thread (read, stored digest, AEAD), the read-ahead thread
        // (zstd, plaintext digest) and this one (writing the spool)
        try (InputStream in = new ReadAhead(restore.open(m, format.streamName()), 1024 * 1024, 8, "restore")) {
            if (format != DumpFormat.DIRECTORY) {
                try (OutputStream out = Files.newOutputStream(input)) {
                    return in.transferTo(out);
                }
            }
            Files.createDirectory(input);
            CountingInput counted = new CountingInput(in);
            TarStreams.extract(counted, input);
            return counted.count;
        }
    }

    /**
     * Loads the decoded stream into a staging database while it is verified; renames it to the
     * target only once the stream ended verified and the tools succeeded, drops it otherwise.
     */
    private Report stream(Manifest m, DumpFormat format, Path program) {
        String staging = "backstop_staging_" + Long.toHexString(STAGING_IDS.nextLong() & Long.MAX_VALUE);
        long start = System.nanoTime();
        // the server creates the database while the stream is opened and its table of contents read
        FutureTask<Void> creation = new FutureTask<>(() -> createDatabase(m, staging), null);
        Thread creator = DaemonThreads.named("backstop-createdb").start(creation);
        boolean renamed = false;
        Path head = null;
        try {
            Duration fetched;
            long bytes;
            int sessions = 1;
            try (InputStream in = new ReadAhead(restore.open(m, format.streamName()), 1024 * 1024, 8, "restore")) {
                long headBytes = 0;
                boolean split = false;
                CustomDump toc = null;
                if (format == DumpFormat.CUSTOM && jobs > 1) {
                    // a custom dump starts with its table of contents: kept in a file, it lets pg_restore create the
                    // schema first and build indexes and constraints (post-data) apart from the streamed data
                    head = Files.createTempDirectory(workDir, "backstop-restore-toc-");
                    Path headFile = head.resolve("head.pgc");
                    try (OutputStream headOut = Files.newOutputStream(headFile)) {
                        CountingInput tee = new CountingInput(in, headOut);
                        try {
                            toc = CustomDump.read(tee);
                            split = true;
                        } catch (CustomDump.Unsupported e) {
                            // an archive this reader does not know: let pg_restore judge a longer head
                            tee.readUpTo(TOC_HEAD);
                        }
                        headBytes = tee.count;
                    }
                    if (!split) {
                        split = tocComplete(headFile);
                    }
                }
                toc = toc == null ? null : parallelLoadable(toc);
                awaitCreation(creation);
                if (toc != null) {
                    Path headFile = head.resolve("head.pgc");
                    try (RestoreSessions statements = new RestoreSessions(() -> target.connect(staging));
                         AfterData afterData = new AfterData(toc, new AfterData.Runner() {
                             @Override
                             public void restore(List<CustomDump.Entry> entries, int n) throws IOException {
                                 restoreEntries(m, program, staging, headFile, entries, n);
                             }

                             @Override
                             public void execute(String sql) throws IOException {
                                 statements.execute(sql);
                             }
                         }, jobs)) {
                        bytes = loadInParallel(m, program, staging, headFile, in, afterData);
                        sessions = jobs;
                        fetched = Duration.ofNanos(System.nanoTime() - start);
                        afterData.finish();
                    }
                } else {
                    bytes = loadInOneSession(m, format, program, staging, head, headBytes, split, in);
                    fetched = Duration.ofNanos(System.nanoTime() - start);
                    if (split) {
                        List<String> post = args(format, head.resolve("head.pgc"), staging, jobs);
                        post.add(post.size() - 1, "--section=post-data");
                        run(m, program, post, staging);
                    }
                }
            }
            try (Connection c = target.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("ALTER DATABASE " + PostgresInstance.quoteIdent(staging) + " RENAME TO "
                        + PostgresInstance.quoteIdent(database));
                renamed = true;
            } catch (SQLException e) {
                throw new BackupException(Stage.RESTORE, "restored " + m.id() + " into staging database '" + staging
                        + "' but could not rename it to '" + database + "' at " + target + ": " + e.getMessage(), e, false,
                        m.id());
            }
            return new Report(database, bytes, fetched, Duration.ofNanos(System.nanoTime() - start).minus(fetched), sessions);
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "restoring " + m.id() + " into database '" + database + "' at " + target
                    + " failed: " + e.getMessage(), e, false, m.id());
        } finally {
            if (!renamed) {
                // a creation still running would otherwise leave its database behind after the drop
                awaitQuietly(creation);
                dropQuietly(staging);
            }
            if (head != null) {
                PgDumpSource.deleteTree(head);
            }
        }
    }

    /** Waits for the staging database; rethrows its creation's failure as thrown. */
    private static void awaitCreation(FutureTask<Void> creation) throws IOException {
        try {
            creation.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while creating the staging database");
        }
    }

    private static void awaitQuietly(FutureTask<Void> creation) {
        try {
            creation.get();
        } catch (ExecutionException ignored) {
            // the creation failed: there is nothing to drop, and the failure is reported or superseded
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Pipes the whole stream (the head first, if one was taken) into one pg_restore or psql session. */
    private long loadInOneSession(Manifest m, DumpFormat format, Path program, String staging, Path head, long headBytes,
                                  boolean split, InputStream in) throws IOException {
        List<String> args = args(format, null, staging, 1);
        if (split) {
            args.addAll(List.of("--section=pre-data", "--section=data"));
        }
        try (ToolProcess p = ToolProcess.startWith(program, args, target, ProcessBuilder.Redirect.PIPE,
                ProcessBuilder.Redirect.DISCARD)) {
            long bytes;
            try (OutputStream out = p.stdin()) {
                if (head != null) {
                    Files.copy(head.resolve("head.pgc"), out);
                }
                bytes = headBytes + in.transferTo(out);
            } catch (IOException e) {
                // a tool that died early closes its end of the pipe: its stderr says why, the pipe does not
                if (p.exitsWithin(Duration.ofSeconds(5))) {
                    throw toolFailed(m, p, p.waitFor(), staging);
                }
                throw e;
            }
            // the stream ended and every check at its end passed: only now may the result become the target
            int exit = p.waitFor();
            if (exit != 0) {
                throw toolFailed(m, p, exit, staging);
            }
            return bytes;
        }
    }

    /**
     * {@code toc} if the dump's table data can be loaded by {@link ParallelCopy}: stored
     * uncompressed, in UTF-8 (the JDBC sessions' encoding), with COPY statements for all data and
     * no large objects, and no subset asked for. Null means: let pg_restore load it.
     */
    private CustomDump parallelLoadable(CustomDump toc) {
        if (!schemas.isEmpty() || !tables.isEmpty()) {
            return null;
        }
        if (!toc.uncompressed() || !"UTF8".equals(toc.encoding())) {
            return null;
        }
        for (CustomDump.Entry e : toc.entries()) {
            boolean tableData = "TABLE DATA".equals(e.desc()) && e.copyStmt() != null && e.copyStmt().startsWith("COPY ");
            if ((e.hasData() && !tableData) || e.desc().startsWith("BLOB") || e.desc().startsWith("LARGE OBJECT")) {
                return null;
            }
        }
        return toc;
    }

    /**
     * Restores the schema (pre-data) from the head, then streams the table data into {@link #jobs}
     * sessions at once, telling {@code afterData} about each table loaded. Returns the bytes read;
     * the stream has then ended verified.
     */
    private long loadInParallel(Manifest m, Path program, String staging, Path head, InputStream rest, AfterData afterData)
            throws IOException {
        List<String> pre = args(DumpFormat.CUSTOM, head, staging, 1);
        pre.add(pre.size() - 1, "--section=pre-data");
        run(m, program, pre, staging);
        List<Connection> sessions = new ArrayList<>();
        try {
            for (int i = 0; i < jobs; i++) {
                sessions.add(target.connect(staging));
            }
            try (InputStream headIn = Files.newInputStream(head); ParallelCopy copy = new ParallelCopy(sessions)) {
                CountingInput counted = new CountingInput(new java.io.SequenceInputStream(headIn, rest));
                CustomDump dump = CustomDump.read(counted);
                for (CustomDump.Block b = dump.nextBlock(); b != null; b = dump.nextBlock()) {
                    if (b.type() != CustomDump.BLOCK_DATA || b.entry().copyStmt() == null) {
                        throw new IOException("unexpected data block of type " + b.type() + " for " + b.entry().desc() + " "
                                + b.entry().tag() + " (its table of contents said otherwise)");
                    }
                    int id = b.entry().dumpId();
                    copy.load(b.entry().copyStmt(), b.data(), () -> afterData.loaded(id));
                }
                copy.finish();
                return counted.count;
            }
        } catch (SQLException e) {
            throw new IOException("could not open " + jobs + " sessions to staging database '" + staging + "': "
                    + e.getMessage(), e);
        } finally {
            for (Connection c : sessions) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // closing after the load: nothing of it depends on this
                }
            }
        }
    }

    /** Restores {@code entries} of the dump whose head is {@code head} with {@code pg_restore -j N -L}. */
    private void restoreEntries(Manifest m, Path program, String staging, Path head, List<CustomDump.Entry> entries, int n)
            throws IOException {
        StringBuilder list = new StringBuilder();
        for (CustomDump.Entry e : entries) {
            list.append(e.dumpId()).append("; ").append(e.desc()).append(' ').append(e.tag()).append('\n');
        }
        Path listFile = Files.createTempFile(head.getParent(), "entries-", ".list");
        try {
            Files.writeString(listFile, list.toString());
            List<String> args = args(DumpFormat.CUSTOM, head, staging, n);
            args.add(args.size() - 1, "--use-list=" + listFile);
            run(m, program, args, staging);
        } finally {
            Files.deleteIfExists(listFile);
        }
    }

    /** Whether {@code head} holds a custom dump's whole table of contents: pg_restore can list it. */
    private boolean tocComplete(Path head) throws IOException {
        Path pgRestore;
        try {
            pgRestore = tools.tool("pg_restore");
        } catch (NoSuchFileException e) {
            return false;
        }
        try (ToolProcess p = ToolProcess.start(pgRestore, List.of("--list", head.toString()), null, (Path) null,
                ProcessBuilder.Redirect.DISCARD)) {
            return p.waitFor() == 0;
        }
    }

    private BackupException toolFailed(Manifest m, ToolProcess p, int exit, String into) {
        return new BackupException(Stage.RESTORE, p.name() + " exited " + exit + " restoring " + m.id() + " into database '"
                + into + "' at " + target + ": " + p.stderrTail().strip(), null, false, m.id());
    }

    /** Removes a staging database after a failure; the failure being reported matters more than this one. */
    private void dropQuietly(String staging) {
        try (Connection c = target.connect("postgres"); Statement st = c.createStatement()) {
            boolean force = c.getMetaData().getDatabaseMajorVersion() >= 13;
            st.execute("DROP DATABASE IF EXISTS " + PostgresInstance.quoteIdent(staging) + (force ? " WITH (FORCE)" : ""));
        } catch (SQLException | RuntimeException ignored) {
            // best effort: the name says what it is, and it never becomes the target
        }
    }

    /**
     * Creates a database with the source database's encoding and locale, as the backup recorded
     * them: text in another encoding would be converted, and so no longer byte for byte the same.
     */
    private void createDatabase(Manifest m, String name) {
        String encoding = m.attributes().get("postgresql.encoding");
        String collate = m.attributes().get("postgresql.lc_collate");
        String ctype = m.attributes().get("postgresql.lc_ctype");
        StringBuilder sql = new StringBuilder("CREATE DATABASE " + PostgresInstance.quoteIdent(name) + " TEMPLATE template0");
        if (encoding != null) {
            sql.append(" ENCODING ").append(quoteLiteral(encoding));
        }
        if (collate != null && ctype != null) {
            sql.append(" LC_COLLATE ").append(quoteLiteral(collate)).append(" LC_CTYPE ").append(quoteLiteral(ctype));
        }
        try (Connection c = target.connect("postgres"); Statement st = c.createStatement()) {
            st.execute(sql.toString());
        } catch (SQLException e) {
            throw new BackupException(Stage.RESTORE, "could not create database '" + name + "' at " + target
                    + (encoding == null ? "" : " with the source's encoding " + encoding + " and locale " + collate + "/" + ctype
                    + " (the target server must have that locale)") + ": " + e.getMessage(), e, false, m.id());
        }
    }

    /** The tool's arguments; {@code input} null reads standard input. */
    private List<String> args(DumpFormat format, Path input, String into, int jobCount) {
        List<String> args = new ArrayList<>();
        if (format == DumpFormat.PLAIN) {
            args.addAll(List.of("--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction",
                    "--file=" + (input == null ? "-" : input.toString()), "--dbname=" + into));
            return args;
        }
        args.addAll(List.of("--exit-on-error", "--dbname=" + into));
        if (jobCount > 1) {
            args.add("--jobs=" + jobCount);
        }
        if (noOwner) {
            args.addAll(List.of("--no-owner", "--no-privileges"));
        }
        schemas.forEach(s -> args.add("--schema=" + s));
        tables.forEach(t -> args.add("--table=" + t));
        if (input != null) {
            args.add(input.toString());
        }
        return args;
    }

    private void load(Manifest m, DumpFormat format, Path program, Path input, String into) throws IOException {
        List<String> args = args(format, input, into, jobs);
        if (dataOf == null) {
            run(m, program, args, into);
            return;
        }
        Path listFile = Files.createTempFile(input.getParent(), "entries-", ".list");
        try {
            try (ToolProcess p = ToolProcess.start(program, List.of("--list", input.toString()), target, null,
                    ProcessBuilder.Redirect.to(listFile.toFile()))) {
                int exit = p.waitFor();
                if (exit != 0) {
                    throw toolFailed(m, p, exit, into);
                }
            }
            Files.write(listFile, withDataOnlyOf(Files.readAllLines(listFile), dataOf));
            args.add(args.size() - 1, "--use-list=" + listFile);
            run(m, program, args, into);
        } finally {
            Files.deleteIfExists(listFile);
        }
    }

    /**
     * A {@code pg_restore --list} with the TABLE DATA entries of tables outside {@code keep}
     * ({@code schema.table}, unquoted) commented out. An entry reads
     * {@code id; tableoid oid TABLE DATA schema table owner}; names may hold spaces, so each
     * entry is matched against the kept names rather than split.
     */
    static List<String> withDataOnlyOf(List<String> list, Set<String> keep) {
        List<String> out = new ArrayList<>();
        for (String line : list) {
            int at = line.indexOf(" TABLE DATA ");
            if (line.startsWith(";") || at < 0) {
                out.add(line);
                continue;
            }
            String rest = line.substring(at + " TABLE DATA ".length());
            boolean kept = false;
            for (String t : keep) {
                int dot = t.indexOf('.');
                if (rest.startsWith(t.substring(0, dot) + " " + t.substring(dot + 1) + " ")) {
                    kept = true;
                    break;
                }
            }
            out.add(kept ? line : ";" + line);
        }
        return out;
    }

    private void run(Manifest m, Path program, List<String> args, String into) throws IOException {
        try (ToolProcess p = ToolProcess.start(program, args, target, (Path) null, ProcessBuilder.Redirect.DISCARD)) {
            int exit = p.waitFor();
            if (exit != 0) {
                throw toolFailed(m, p, exit, into);
            }
        }
    }

    private static String quoteLiteral(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    /**
     * Counts the bytes read through it and, if given a copy stream, writes them there too (the head
     * of a dump, kept); never closes the stream it reads.
     */
    private static final class CountingInput extends java.io.FilterInputStream {
        private final OutputStream copy;
        long count;

        CountingInput(InputStream in) {
            this(in, OutputStream.nullOutputStream());
        }

        CountingInput(InputStream in, OutputStream copy) {
            super(in);
            this.copy = copy;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                copy.write(b, off, n);
                count += n;
            }
            return n;
        }

        /** Reads on until {@code limit} bytes were read in all, or the end. */
        void readUpTo(long limit) throws IOException {
            byte[] buf = new byte[256 * 1024];
            while (count < limit && read(buf, 0, (int) Math.min(buf.length, limit - count)) > 0) {
                // read() counts and copies
            }
        }

        @Override
        public void close() {
            // the caller closes the underlying stream
        }
    }

    /** Builder for {@link PostgresRestore}. */
    public static final class Builder {
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
            this.jobs = jobs;
            return this;
        }

        /** Whether a target that already holds relations may be restored into (default false). */
        public Builder allowNonEmpty(boolean allowNonEmpty) {
            this.allowNonEmpty = allowNonEmpty;
            return this;
        }

        /**
         * Skips ownership and privileges (pg_restore {@code --no-owner --no-privileges}), for
         * targets that lack the source's roles, such as a drill's throwaway server. Default false.
         */
        public Builder noOwner(boolean noOwner) {
            this.noOwner = noOwner;
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
            this.tools = Objects.requireNonNull(tools, "tools");
            return this;
        }

        /** Where the verified dump is spooled (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = Objects.requireNonNull(workDir, "workDir");
            return this;
        }

        /**
         * Whether a custom or plain dump for a target that does not exist yet streams into a
         * staging database renamed on success (default true: no spool, decoding overlaps loading,
         * one session) or is spooled first and loaded with {@link #jobs} (false).
         */
        public Builder streaming(boolean streaming) {
            this.streaming = streaming;
            return this;
        }

        /**
         * Restores every object but the data of only these tables ({@code schema.table}, unquoted),
         * through a spool; needs a custom or directory dump. For sampled drills: the other tables
         * exist, empty.
         */
        Builder dataOnlyOf(Set<String> tables) {
            this.dataOf = Set.copyOf(tables);
            return this;
        }

        public PostgresRestore build() {
            return new PostgresRestore(this);
        }
    }
}
