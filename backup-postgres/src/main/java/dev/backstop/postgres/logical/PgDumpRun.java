package dev.backstop.postgres.logical;

import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureSource;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.internal.CopyHashTap;
import dev.backstop.postgres.internal.ReadAhead;
import dev.backstop.postgres.internal.ServerFailures;
import dev.backstop.postgres.internal.TarStreams;
import dev.backstop.postgres.internal.ToolProcess;
import dev.backstop.postgres.internal.WorkDirs;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One run of {@code pg_dump} for a {@link PgDumpSource}: dumps the exported snapshot into the
 * capture's stream, through a read-ahead thread and, for stream hashing, a copy into the {@link
 * CopyHashTap}; a directory dump goes to a temporary directory first and then streams as a tar.
 */
final class PgDumpRun {
    /**
     * Pins what pg_dump's COPY text depends on beyond the settings pg_dump makes itself (DateStyle
     * ISO, IntervalStyle postgres, extra_float_digits 3, empty search_path): a client setting
     * overrides the server's and the database's or role's defaults, so a drill can reproduce it.
     */
    private static final Map<String, String> STREAM_ENV = Map.of("PGTZ", "UTC", "PGCLIENTENCODING", "UTF8");
    private static final String STREAM_OPTIONS = "-c TimeZone=UTC -c bytea_output=hex";

    private final PgEndpoint endpoint;
    private final String database;
    private final DumpFormat format;
    private final int jobs;
    private final Path workDir;
    private final List<String> extraArgs;

    PgDumpRun(PgEndpoint endpoint, String database, DumpFormat format, int jobs, Path workDir, List<String> extraArgs) {
        this.endpoint = endpoint;
        this.database = database;
        this.format = format;
        this.jobs = jobs;
        this.workDir = workDir;
        this.extraArgs = extraArgs;
    }

    private static Map<String, String> streamEnv() {
        Map<String, String> env = new LinkedHashMap<>(STREAM_ENV);
        String given = System.getenv("PGOPTIONS");
        // later options win, so the user's own stay in force except where they would break the hash
        env.put("PGOPTIONS", given == null || given.isBlank() ? STREAM_OPTIONS : given + " " + STREAM_OPTIONS);
        return env;
    }

    /** Dumps the snapshot {@code snapshotId} into {@code streams}, copying it into {@code tap} unless null. */
    void dump(Path pgDump, String snapshotId, CaptureSource.Streams streams, CopyHashTap tap) throws IOException {
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
        try (ToolProcess p = ToolProcess.startWith(pgDump, args, endpoint, ProcessBuilder.Redirect.from(new java.io.File("/dev/null")),
                ProcessBuilder.Redirect.PIPE, tap == null ? Map.of() : streamEnv())) {
            long bytes = 0;
            // read ahead on another thread: pg_dump keeps dumping while this thread compresses
            try (OutputStream out = streams.open(format.streamName());
                 InputStream in = ReadAhead.ofPipe(p.stdout(), 256 * 1024, 16, "pg_dump")) {
                byte[] buf = new byte[256 * 1024];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (tap != null) {
                        // a copy into the tap's pool: the hashing runs on its own thread
                        tap.write(buf, 0, n);
                    }
                    out.write(buf, 0, n);
                    bytes += n;
                }
            }
            int exit = p.waitFor();
            if (exit != 0) {
                String stderr = p.stderrTail();
                throw new CaptureFailedException("pg_dump of database '" + database + "' failed after " + bytes + " bytes",
                        exit, stderr, null, ServerFailures.retryable(stderr));
            }
        }
    }

    private void dumpDirectory(Path pgDump, List<String> args, CaptureSource.Streams streams) throws IOException {
        Path tmp = Files.createTempDirectory(workDir, "backstop-pgdump-");
        try {
            Path dir = tmp.resolve("dump");
            args.add("--jobs=" + jobs);
            args.add("--file=" + dir);
            try (ToolProcess p = ToolProcess.start(pgDump, args, endpoint, null, ProcessBuilder.Redirect.DISCARD)) {
                int exit = p.waitFor();
                if (exit != 0) {
                    String stderr = p.stderrTail();
                    throw new CaptureFailedException("pg_dump -Fd -j " + jobs + " of database '" + database + "' failed", exit,
                            stderr, null, ServerFailures.retryable(stderr));
                }
            }
            try (OutputStream out = streams.open(format.streamName())) {
                TarStreams.write(dir, out);
            }
        } finally {
            WorkDirs.deleteTree(tmp);
        }
    }
}
