package dev.backstop.mysql.binlog;

import dev.backstop.core.source.CommandSource.StderrTail;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.internal.OptionFile;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The {@code mariadb-binlog} a {@link BinlogReceiver} runs: its command line for one start and what
 * it prints, logged line by line as it prints it. Holds no process; the receiver starts, watches and
 * kills it.
 */
final class BinlogTool {
    /** The running tool's process id and start time, in the spool directory. */
    static final String PID_FILE = ".mariadb-binlog.pid";
    private static final String UNKNOWN = "unknown";
    private final MariaDbTools tools;
    private final Path spool;
    /** What the running tool prints; set with each process. */
    private volatile StderrTail output;

    BinlogTool(MariaDbTools tools, Path spool) {
        this.tools = tools;
        this.spool = spool;
    }

    /**
     * The tool receiving the server's binlogs from file {@code from} on, forever, raw into the spool
     * directory, connecting with {@code options}; {@link #follow} reads what it prints.
     *
     * @throws IOException if {@code mariadb-binlog} is not found
     */
    ProcessBuilder command(OptionFile options, String from) throws IOException {
        List<String> cmd = List.of(tools.tool("mariadb-binlog").toString(), options.argument(), "--read-from-remote-server",
                "--raw", "--stop-never", "--result-file=" + spool + File.separator, from);
        return new ProcessBuilder(cmd).directory(spool.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    }

    /**
     * Logs what the started {@code process} prints, line by line, from now on, and records its
     * process id and start time in the spool ({@link #PID_FILE}) for {@link #endLeftover}.
     *
     * @throws IOException if the record cannot be written
     */
    void follow(Process process) throws IOException {
        output = StderrTail.logged(process.getInputStream(), "mariadb-binlog");
        Path pidFile = spool.resolve(PID_FILE);
        Path tmp = spool.resolve(PID_FILE + ".tmp");
        Files.writeString(tmp, process.pid() + " " + startOf(process.toHandle()));
        Files.move(tmp, pidFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Ends the tool a receiver of this spool started in a JVM that died without closing it (killed,
     * crashed): that tool goes on receiving, and would write the spool's files beside the new one's.
     * Recognised by process id and start time, so a process that merely reuses the id is left alone.
     * Returns whether one was ended.
     *
     * @throws IOException if the record cannot be read or the tool does not die within 30 s
     */
    boolean endLeftover() throws IOException, InterruptedException {
        Path pidFile = spool.resolve(PID_FILE);
        if (!Files.exists(pidFile)) {
            return false;
        }
        String[] recorded = Files.readString(pidFile).strip().split(" ");
        // without a known start time a live process of that id may be another program: it is left alone
        Optional<ProcessHandle> leftover = recorded.length != 2 || !recorded[0].matches("[0-9]{1,18}")
                || UNKNOWN.equals(recorded[1]) ? Optional.empty()
                : ProcessHandle.of(Long.parseLong(recorded[0])).filter(h -> startOf(h).equals(recorded[1]));
        boolean ended = false;
        if (leftover.isPresent() && leftover.get().isAlive()) {
            leftover.get().destroyForcibly();
            try {
                leftover.get().onExit().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                throw new IOException("the mariadb-binlog left running in " + spool + " (pid " + recorded[0]
                        + ") did not die within 30 s of SIGKILL", e);
            }
            ended = true;
        }
        Files.delete(pidFile);
        return ended;
    }

    /** Deletes the process record once the tool is known to be gone (closed receiver). */
    void forget() {
        try {
            Files.deleteIfExists(spool.resolve(PID_FILE));
        } catch (IOException e) {
            // a stale record is harmless: endLeftover checks the start time before killing anything
        }
    }

    private static String startOf(ProcessHandle h) {
        return h.info().startInstant().map(i -> Long.toString(i.toEpochMilli())).orElse(UNKNOWN);
    }

    /** The last line the tool printed (why it exited), once it has exited. */
    String lastLine() {
        StderrTail tail = output;
        List<String> lines = tail == null ? List.of() : tail.await().lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1).strip();
    }
}
