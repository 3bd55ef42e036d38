package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.Stage;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.internal.OptionFile;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One replay: {@code mariadb-binlog f1 f2 ... | mariadb}, an operating-system pipe between the two
 * programs, so every transaction runs in the one client session (temporary tables and session
 * variables carry from one transaction to the next, as they did on the source). Standard error
 * of each program goes to a file in the replay's private directory; its tail is quoted on failure.
 */
final class ReplayPipe {
    private ReplayPipe() {
    }

    /**
     * Replays {@code files} from {@code start} in the first to {@code stop} in the last onto
     * {@code endpoint}; {@code database} (or null) limits it to one database's events.
     */
    static Duration run(MariaDbTools tools, Path dir, MariaDbEndpoint endpoint, List<Path> files, long start, long stop,
                        String database, boolean writeBinlog, Duration timeout, BackupId id) {
        Path binlogTool = tool(tools, "mariadb-binlog", id);
        Path client = tool(tools, "mariadb", id);
        List<String> read = new ArrayList<>(List.of(binlogTool.toString(), "--no-defaults", "--verify-binlog-checksum",
                "--start-position=" + start, "--stop-position=" + stop));
        if (!writeBinlog) {
            read.add("--disable-log-bin");
        }
        if (database != null) {
            read.add("--database=" + database);
        }
        files.forEach(f -> read.add(f.toString()));
        Path readErr = dir.resolve("mariadb-binlog.err");
        Path applyErr = dir.resolve("mariadb.err");
        long began = System.nanoTime();
        try (OptionFile options = OptionFile.create(endpoint, dir)) {
            List<String> apply = List.of(client.toString(), options.argument(), "--binary-mode", "--batch",
                    "--max-allowed-packet=1073741824");
            ProcessBuilder reader = new ProcessBuilder(read).directory(dir.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectError(readErr.toFile());
            ProcessBuilder applier = new ProcessBuilder(apply).directory(dir.toFile())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(applyErr.toFile());
            List<Process> ps = ProcessBuilder.startPipeline(List.of(reader, applier));
            try {
                int readExit = waitFor(ps.get(0), timeout, id);
                int applyExit = waitFor(ps.get(1), timeout, id);
                if (applyExit != 0) {
                    throw new BackupException(Stage.RESTORE, "replaying the binlogs onto " + endpoint + " failed: mariadb exited "
                            + applyExit + ": " + tail(applyErr) + " (nothing after that statement was applied; transactions "
                            + "before it were)", null, false, id);
                }
                if (readExit != 0) {
                    throw new BackupException(Stage.RESTORE, "replaying the binlogs onto " + endpoint + " failed: mariadb-binlog "
                            + "exited " + readExit + ": " + tail(readErr), null, false, id);
                }
            } finally {
                ps.forEach(Process::destroyForcibly);
            }
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not run mariadb-binlog | mariadb onto " + endpoint + ": " + e, e, false, id);
        }
        return Duration.ofNanos(System.nanoTime() - began);
    }

    private static int waitFor(Process p, Duration timeout, BackupId id) {
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new BackupException(Stage.RESTORE, "binlog replay did not finish within " + timeout, null, false, id);
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException(Stage.RESTORE, "binlog replay interrupted", e, false, id);
        }
    }

    private static Path tool(MariaDbTools tools, String name, BackupId id) {
        try {
            return tools.tool(name);
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.CONFIGURE, e.getReason() + " (Debian: mariadb-client)", e, false, id);
        }
    }

    /** The last 2 KiB of a program's standard error, stripped. */
    private static String tail(Path file) {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long from = Math.max(0, f.length() - 2048);
            byte[] b = new byte[(int) (f.length() - from)];
            f.seek(from);
            f.readFully(b);
            String s = new String(b, StandardCharsets.UTF_8).strip();
            return s.isEmpty() ? "(no output)" : s;
        } catch (IOException e) {
            return "(its output " + file + " is unreadable: " + e.getMessage() + ")";
        }
    }
}
