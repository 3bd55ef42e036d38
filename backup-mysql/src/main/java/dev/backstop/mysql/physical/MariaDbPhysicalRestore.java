package dev.backstop.mysql.physical;

import dev.backstop.core.BackupException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.internal.stream.PipelinedOutputStream;
import dev.backstop.core.source.CommandSource.StderrTail;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbTools;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Restores a physical MariaDB backup ({@link MariaDbBackupSource}): verified fetch, extraction of
 * its xbstream into a fresh directory, {@code mariadb-backup --prepare}, then either a throwaway
 * server on the prepared copy ({@link #start}) or {@code --move-back} into a data directory
 * ({@link #toDataDirectory}).
 *
 * <pre>{@code
 * MariaDbPhysicalRestore physical = MariaDbPhysicalRestore.builder(restore).build();
 * physical.toDataDirectory(restore.latest(), Path.of("/var/lib/mysql"));   // empty, server stopped
 * }</pre>
 *
 * <p><b>Guarantees.</b> The decoded stream is extracted as it passes, as {@code mbstream -x} would
 * (every chunk's CRC-32 checked, each file's chunks in order, no path leaving the directory),
 * never through a temporary copy of the stream; it is verified as it passes (stored SHA-256, AEAD,
 * plaintext SHA-256), and nothing is prepared, started or moved unless the whole stream passed
 * and ended on a chunk boundary. A corrupted, truncated or wrongly keyed backup is an {@link
 * dev.backstop.core.IntegrityException} (a malformed stream or a failing tool a {@link
 * BackupException}, with the tool's stderr tail), and the extracted files are deleted. A target data directory holding anything is
 * refused before any byte is fetched, unless {@link Builder#allowNonEmptyTarget()} was called.
 * The prepared copy is consistent at the backup's {@link BinlogPoint}.
 *
 * <p><b>Restrictions.</b> Needs {@code mariadb-backup} of the backup's
 * MariaDB major version, and disk for the whole data directory next to the target (the copy is
 * extracted there and then moved, so it must be the same file system to move instantly); files are
 * written whole, so page-compressed tables take their uncompressed size on disk. The
 * server of a target data directory must be stopped. A failure during the move itself (disk full)
 * leaves the target partly filled: empty it before trying again. The files belong to the user
 * running Backstop: hand them to the server's user ({@code chown -R mysql:mysql}) before starting
 * it. The restored server keeps the source's
 * users and settings stored in the data directory; binlogs are not part of a physical backup.
 *
 * <p><b>Threading.</b> Immutable; calls may run concurrently for different targets. Each
 * extraction runs one task on the {@link Builder#executor} that writes the files while the
 * calling thread reads and verifies the stream.
 */
public final class MariaDbPhysicalRestore {
    /** The pieces the verified stream is handed to the extracting thread in, and how many may wait. */
    private static final int HANDOFF_CHUNK = 1 << 20;
    private static final int HANDOFF_DEPTH = 8;
    /** How long a failed extraction waits for the extracting thread to stop. */
    private static final long HANDOFF_STOP_MILLIS = 60_000;

    private final Restore restore;
    private final MariaDbTools tools;
    private final Path workDir;
    private final boolean allowNonEmptyTarget;
    private final String useMemory;
    private final Executor executor;

    private MariaDbPhysicalRestore(Builder b) {
        this.restore = b.restore;
        this.tools = b.tools;
        this.workDir = b.workDir;
        this.allowNonEmptyTarget = b.allowNonEmptyTarget;
        this.useMemory = b.useMemory;
        this.executor = LogContext.propagating(b.executor);
    }

    /** Restores backups read through {@code restore}. */
    public static Builder builder(Restore restore) {
        return new Builder(restore);
    }

    /**
     * What one restore did: the backup's bytes fetched, and the time to fetch, verify and extract
     * (overlapping), to prepare, and to place the copy (move it back, or start a server on it).
     */
    public record Report(long streamBytes, Duration fetchAndExtract, Duration prepare, Duration place) {
        /** The recovery time. */
        public Duration total() {
            return fetchAndExtract.plus(prepare).plus(place);
        }
    }

    /** A throwaway server running on a restored copy, and how it got there; closing it stops and deletes both. */
    public record Started(EphemeralMariaDb server, Report report) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /**
     * Restores {@code m} into a throwaway server ({@link EphemeralMariaDb} with this restore's
     * tools, under {@link Builder#workDir}) and returns it running. Its account is {@link
     * EphemeralMariaDb#USER} with a new password; the source's accounts are there too.
     */
    public Started start(Manifest m) {
        check(m);
        Path dir = createDirectory(m);
        try {
            long start = System.nanoTime();
            long bytes = extract(m, dir);
            long extracted = System.nanoTime();
            prepare(m, dir);
            long prepared = System.nanoTime();
            EphemeralMariaDb server;
            try {
                server = EphemeralMariaDb.builder().tools(tools).baseDir(workDir).dataDirectory(dir).start();
            } catch (BackupException e) {
                throw new BackupException(Stage.RESTORE, "could not start a server on the restored copy of " + m.id() + ": "
                        + e.getMessage(), e, false, m.id());
            }
            return new Started(server, new Report(bytes, Duration.ofNanos(extracted - start), Duration.ofNanos(prepared - extracted),
                    Duration.ofNanos(System.nanoTime() - prepared)));
        } finally {
            MariaDbBackupSource.deleteTree(dir);
        }
    }

    /**
     * Restores {@code m} into {@code datadir} (created if absent) with {@code mariadb-backup
     * --move-back}, ready for a server to start on. Refuses a non-empty {@code datadir} unless
     * {@link Builder#allowNonEmptyTarget()} (then existing files are kept and a file the backup
     * also has fails the move).
     */
    public Report toDataDirectory(Manifest m, Path datadir) {
        check(m);
        Path target = datadir.toAbsolutePath();
        refuseNonEmpty(m, target);
        Path parent = target.getParent();
        Path dir;
        try {
            Files.createDirectories(parent);
            dir = Files.createTempDirectory(parent, "." + target.getFileName() + ".restoring-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not create a directory beside " + target + ": " + e, e, false, m.id());
        }
        try {
            long start = System.nanoTime();
            long bytes = extract(m, dir);
            long extracted = System.nanoTime();
            prepare(m, dir);
            long prepared = System.nanoTime();
            List<String> cmd = new ArrayList<>(List.of(tool(m, "mariadb-backup").toString(), "--no-defaults", "--move-back",
                    "--target-dir=" + dir, "--datadir=" + target));
            if (allowNonEmptyTarget) {
                cmd.add("--force-non-empty-directories");
            }
            run(m, cmd, "mariadb-backup --move-back into " + target);
            return new Report(bytes, Duration.ofNanos(extracted - start), Duration.ofNanos(prepared - extracted),
                    Duration.ofNanos(System.nanoTime() - prepared));
        } finally {
            MariaDbBackupSource.deleteTree(dir);
        }
    }

    private void refuseNonEmpty(Manifest m, Path target) {
        if (allowNonEmptyTarget || !Files.exists(target)) {
            return;
        }
        if (!Files.isDirectory(target)) {
            throw new BackupException(Stage.RESTORE, "target data directory " + target + " is not a directory", null, false, m.id());
        }
        try (Stream<Path> s = Files.list(target)) {
            List<String> present = s.limit(5).map(p -> p.getFileName().toString()).sorted().toList();
            if (!present.isEmpty()) {
                throw new BackupException(Stage.RESTORE, "target data directory " + target + " is not empty (it holds "
                        + String.join(", ", present) + (present.size() == 5 ? ", ..." : "") + "); restore into an empty "
                        + "directory, or call allowNonEmptyTarget() to add the backup's files beside these", null, false, m.id());
            }
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not list target data directory " + target + ": " + e, e, false, m.id());
        }
    }

    private static void check(Manifest m) {
        if (!"mariadb".equals(m.source().engine()) || !MariaDbBackupSource.FORMAT.equals(m.attributes().get("mariadb.format"))
                || m.object(MariaDbBackupSource.STREAM).isEmpty()) {
            throw new BackupException(Stage.CONFIGURE, "backup " + m.id() + " is not a MariaDB physical backup (engine "
                    + m.source().engine() + ", mariadb.format " + m.attributes().get("mariadb.format") + ")", null, false, m.id());
        }
    }

    private Path createDirectory(Manifest m) {
        try {
            return Files.createTempDirectory(workDir, "backstop-physical-restore-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not create a directory in " + workDir + ": " + e, e, false, m.id());
        }
    }

    /**
     * Extracts the verified backup into {@code dir}: this thread reads and verifies the stream (the
     * decoding chain's own threads decrypt and decompress), a thread of the executor follows its
     * xbstream chunks and writes the files, at most {@value #HANDOFF_DEPTH} pieces of {@value
     * #HANDOFF_CHUNK} bytes behind. Returns the stream's bytes.
     */
    private long extract(Manifest m, Path dir) {
        XbstreamExtraction files = new XbstreamExtraction(dir);
        XbstreamTap tap = new XbstreamTap(OutputStream.nullOutputStream(), Set.of(), files);
        long bytes = 0;
        boolean extracted = false;
        try (InputStream in = restore.open(m, MariaDbBackupSource.STREAM)) {
            PipelinedOutputStream out = new PipelinedOutputStream(tap, executor, HANDOFF_CHUNK, HANDOFF_DEPTH);
            boolean handedOver = false;
            try {
                bytes = copy(in, out);
                handedOver = true;
            } finally {
                if (handedOver) {
                    out.close();
                } else {
                    // a failed read (an IntegrityException among them): the writing thread stops
                    // before the files are closed and the caller deletes them, so nothing is
                    // written after the deletion
                    out.cancel();
                    out.awaitStopped(HANDOFF_STOP_MILLIS);
                }
            }
            extracted = true;
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not extract " + MariaDbBackupSource.STREAM + " of " + m.id()
                    + " after " + bytes + " bytes: " + e.getMessage(), e, false, m.id());
        } finally {
            try {
                files.close();
            } catch (IOException e) {
                // after a failure, that failure is what the caller needs to see; the files are deleted either way
                if (extracted) {
                    throw new BackupException(Stage.RESTORE, "could not close the files extracted from " + m.id() + ": " + e,
                            e, false, m.id());
                }
            }
        }
        if (!tap.complete()) {
            throw new BackupException(Stage.RESTORE, MariaDbBackupSource.STREAM + " of " + m.id() + " ends inside an xbstream "
                    + "chunk after " + tap.bytes() + " bytes", null, false, m.id());
        }
        return bytes;
    }

    /**
     * Copies in {@value #HANDOFF_CHUNK}-byte pieces rather than {@code transferTo}'s 8 KiB: each
     * piece is one read through every decoding stage and one hand-off to the writing thread.
     */
    private static long copy(InputStream in, OutputStream out) throws IOException {
        byte[] buf = new byte[HANDOFF_CHUNK];
        long total = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            out.write(buf, 0, n);
            total += n;
        }
        return total;
    }

    private void prepare(Manifest m, Path dir) {
        List<String> cmd = new ArrayList<>(List.of(tool(m, "mariadb-backup").toString(), "--no-defaults", "--prepare",
                "--target-dir=" + dir));
        if (useMemory != null) {
            cmd.add("--use-memory=" + useMemory);
        }
        run(m, cmd, "mariadb-backup --prepare of " + m.id());
    }

    private void run(Manifest m, List<String> cmd, String what) {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, what + ": could not start: " + e, e, false, m.id());
        }
        StderrTail output = StderrTail.start(p.getInputStream(), "mariadb-backup");
        int exit = waitFor(m, p, what);
        if (exit != 0) {
            throw new BackupException(Stage.RESTORE, what + " exited " + exit + ": " + output.await().strip(), null, false, m.id());
        }
    }

    private Path tool(Manifest m, String name) {
        try {
            return tools.tool(name);
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.CONFIGURE, e.getReason() + " (Debian: mariadb-backup)", e, false, m.id());
        }
    }

    private static int waitFor(Manifest m, Process p, String what) {
        try {
            if (!p.waitFor(6, TimeUnit.HOURS)) {
                p.destroyForcibly();
                throw new BackupException(Stage.RESTORE, what + " did not finish within 6 hours", null, false, m.id());
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new BackupException(Stage.RESTORE, what + " interrupted", e, false, m.id());
        }
    }

    /** Builder for {@link MariaDbPhysicalRestore}; every setting but the restore has a default; a setting given twice is refused. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Restore restore;
        private MariaDbTools tools = MariaDbTools.locate();
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private boolean allowNonEmptyTarget;
        private String useMemory;
        private Executor executor = DaemonThreads.threadPerTask(DaemonThreads.named("backstop-mariadb-extract"));

        private Builder(Restore restore) {
            this.restore = Objects.requireNonNull(restore, "restore");
        }

        /** Where {@code mariadb-backup} is found. */
        public Builder tools(MariaDbTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /**
         * Where {@link #start} extracts the copy its server runs on (default {@code
         * java.io.tmpdir}); it needs room for the whole data directory.
         */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /** Lets {@link #toDataDirectory} add the backup's files to a directory that already holds files. */
        public Builder allowNonEmptyTarget() {
            given.once("allowNonEmptyTarget");
            this.allowNonEmptyTarget = true;
            return this;
        }

        /**
         * Memory for {@code --prepare} ({@code --use-memory}), in MiB (default: the tool's own,
         * 100 MiB); more makes applying a long redo log faster.
         */
        public Builder prepareMemoryMiB(int mib) {
            if (mib < 16 || mib > 1 << 20) {
                throw new IllegalArgumentException("prepareMemoryMiB: got " + mib + ", must be 16..1048576");
            }
            this.useMemory = given.once("prepareMemoryMiB", this.useMemory, mib + "M");
            return this;
        }

        /**
         * Runs the task that writes the extracted files, one per restore for the length of its
         * stream, on a thread other than the restoring one (default: a new daemon thread per
         * task); never shut down by the restore.
         */
        public Builder executor(Executor executor) {
            this.executor = given.once("executor", "the default executor", executor);
            return this;
        }

        public MariaDbPhysicalRestore build() {
            return new MariaDbPhysicalRestore(this);
        }
    }
}
