package dev.backstop.postgres.logical;

import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.BackupException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.internal.AfterData;
import dev.backstop.postgres.internal.CustomDump;
import dev.backstop.postgres.internal.ParallelCopy;
import dev.backstop.postgres.internal.ReadAhead;
import dev.backstop.postgres.internal.RestoreSessions;
import dev.backstop.postgres.internal.RoleThreads;
import dev.backstop.postgres.internal.ToolProcess;
import dev.backstop.postgres.internal.WorkDirs;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The streamed restore of a {@link PostgresRestore}: loads the decoded stream into a staging
 * database while it is verified, and renames it to the target only once the stream ended verified
 * and the tools succeeded; drops it otherwise. A custom dump restored with more than one job keeps
 * its head (the table of contents) in a file and loads its table data by parallel COPY.
 */
final class StreamedRestore {
    private static final SecureRandom STAGING_IDS = new SecureRandom();
    /** How much of a streamed custom dump is kept to find its table of contents (bytes, on disk). */
    private static final long TOC_HEAD = 16L << 20;
    private final Restore restore;
    private final PgEndpoint target;
    private final String database;
    private final int jobs;
    private final List<String> schemas;
    private final List<String> tables;
    private final Path workDir;
    private final RestoreTools programs;
    private final TargetServer server;
    private final RoleThreads threads;

    StreamedRestore(Restore restore, PgEndpoint target, String database, int jobs, List<String> schemas, List<String> tables,
                    Path workDir, RestoreTools programs, TargetServer server, RoleThreads threads) {
        this.threads = threads;
        this.restore = restore;
        this.target = target;
        this.database = database;
        this.jobs = jobs;
        this.schemas = schemas;
        this.tables = tables;
        this.workDir = workDir;
        this.programs = programs;
        this.server = server;
    }

    /**
     * Loads the decoded stream into a staging database while it is verified; renames it to the
     * target only once the stream ended verified and the tools succeeded, drops it otherwise.
     */
    PostgresRestore.Report run(Manifest m, DumpFormat format, Path program) {
        String staging = "backstop_staging_" + Long.toHexString(STAGING_IDS.nextLong() & Long.MAX_VALUE);
        long start = System.nanoTime();
        // the server creates the database while the stream is opened and its table of contents read
        FutureTask<Void> creation = new FutureTask<>(() -> server.createDatabase(m, staging), null);
        Thread creator = threads.named("backstop-createdb").newThread(LogContext.propagate(creation));
        creator.start();
        boolean renamed = false;
        Path head = null;
        try {
            Duration fetched;
            long bytes;
            int sessions = 1;
            try (InputStream in = ReadAhead.of(restore.open(m, format.streamName()), 1024 * 1024, 8,
                    threads.named("backstop-readahead-restore"))) {
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
                        split = programs.tocComplete(headFile);
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
                                 programs.restoreEntries(m, program, staging, headFile, entries, n);
                             }

                             @Override
                             public void execute(String sql) throws IOException {
                                 statements.execute(sql);
                             }
                         }, jobs, threads)) {
                        bytes = loadInParallel(m, program, staging, headFile, in, afterData);
                        sessions = jobs;
                        fetched = Duration.ofNanos(System.nanoTime() - start);
                        afterData.finish();
                    }
                } else {
                    bytes = loadInOneSession(m, format, program, staging, head, headBytes, split, in);
                    fetched = Duration.ofNanos(System.nanoTime() - start);
                    if (split) {
                        List<String> post = programs.args(format, head.resolve("head.pgc"), staging, jobs);
                        post.add(post.size() - 1, "--section=post-data");
                        programs.run(m, program, post, staging);
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
            return new PostgresRestore.Report(database, bytes, fetched, Duration.ofNanos(System.nanoTime() - start).minus(fetched), sessions);
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "restoring " + m.id() + " into database '" + database + "' at " + target
                    + " failed: " + e.getMessage(), e, false, m.id());
        } finally {
            if (!renamed) {
                // a creation still running would otherwise leave its database behind after the drop
                awaitQuietly(creation);
                server.dropQuietly(staging);
            }
            if (head != null) {
                WorkDirs.deleteTree(head);
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
        List<String> args = programs.args(format, null, staging, 1);
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
                    throw programs.toolFailed(m, p, p.waitFor(), staging);
                }
                throw e;
            }
            // the stream ended and every check at its end passed: only now may the result become the target
            int exit = p.waitFor();
            if (exit != 0) {
                throw programs.toolFailed(m, p, exit, staging);
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
        List<String> pre = programs.args(DumpFormat.CUSTOM, head, staging, 1);
        pre.add(pre.size() - 1, "--section=pre-data");
        programs.run(m, program, pre, staging);
        List<Connection> sessions = new ArrayList<>();
        try {
            for (int i = 0; i < jobs; i++) {
                sessions.add(target.connect(staging));
            }
            try (InputStream headIn = Files.newInputStream(head); ParallelCopy copy = new ParallelCopy(sessions, threads)) {
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
}
