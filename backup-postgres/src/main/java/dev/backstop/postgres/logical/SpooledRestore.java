package dev.backstop.postgres.logical;

import dev.backstop.core.BackupException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.internal.ReadAhead;
import dev.backstop.postgres.internal.RoleThreads;
import dev.backstop.postgres.internal.TarStreams;
import dev.backstop.postgres.internal.ToolProcess;
import dev.backstop.postgres.internal.WorkDirs;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The spooled restore of a {@link PostgresRestore}: decodes and verifies the whole dump into a
 * private temporary spool, then loads it with {@code pg_restore -j N} (or {@code psql}); the spool
 * is deleted afterwards in every case.
 */
final class SpooledRestore {
    private final Restore restore;
    private final PgEndpoint target;
    private final String database;
    private final int jobs;
    private final Path workDir;
    private final Set<String> dataOf;
    private final RestoreTools programs;
    private final TargetServer server;
    private final RoleThreads threads;

    SpooledRestore(Restore restore, PgEndpoint target, String database, int jobs, Path workDir, Set<String> dataOf,
                   RestoreTools programs, TargetServer server, RoleThreads threads) {
        this.threads = threads;
        this.restore = restore;
        this.target = target;
        this.database = database;
        this.jobs = jobs;
        this.workDir = workDir;
        this.dataOf = dataOf;
        this.programs = programs;
        this.server = server;
    }

    /** Restores {@code m} through a spool; {@code exists} says whether the target database exists already. */
    PostgresRestore.Report run(Manifest m, DumpFormat format, Path program, boolean exists) {
        Path spool = null;
        try {
            spool = Files.createTempDirectory(workDir, "backstop-restore-");
            long start = System.nanoTime();
            Path input = spool.resolve(format == DumpFormat.DIRECTORY ? "dump" : format.streamName());
            long bytes = fetch(m, format, input);
            Duration fetched = Duration.ofNanos(System.nanoTime() - start);
            if (!exists) {
                server.createDatabase(m, database);
            }
            long loadStart = System.nanoTime();
            load(m, format, program, input, database);
            return new PostgresRestore.Report(database, bytes, fetched, Duration.ofNanos(System.nanoTime() - loadStart),
                    format == DumpFormat.PLAIN ? 1 : jobs);
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "restoring " + m.id() + " into database '" + database + "' at " + target
                    + " failed: " + e.getMessage(), e, false, m.id());
        } finally {
            if (spool != null) {
                WorkDirs.deleteTree(spool);
            }
        }
    }

    /** Decodes and verifies the dump into the spool; nothing after this reads the repository. */
    private long fetch(Manifest m, DumpFormat format, Path input) throws IOException {
        // three threads: Restore's decode thread (read, stored digest, AEAD), the read-ahead thread
        // (zstd, plaintext digest) and this one (writing the spool)
        try (InputStream in = ReadAhead.of(restore.open(m, format.streamName()), 1024 * 1024, 8,
                threads.named("backstop-readahead-restore"))) {
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

    private void load(Manifest m, DumpFormat format, Path program, Path input, String into) throws IOException {
        List<String> args = programs.args(format, input, into, jobs);
        if (dataOf == null) {
            programs.run(m, program, args, into);
            return;
        }
        Path listFile = Files.createTempFile(input.getParent(), "entries-", ".list");
        try {
            try (ToolProcess p = ToolProcess.start(program, List.of("--list", input.toString()), target, null,
                    ProcessBuilder.Redirect.to(listFile.toFile()))) {
                int exit = p.waitFor();
                if (exit != 0) {
                    throw programs.toolFailed(m, p, exit, into);
                }
            }
            Files.write(listFile, withDataOnlyOf(Files.readAllLines(listFile), dataOf));
            args.add(args.size() - 1, "--use-list=" + listFile);
            programs.run(m, program, args, into);
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
}
