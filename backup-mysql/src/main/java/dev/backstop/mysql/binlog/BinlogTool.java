package dev.backstop.mysql.binlog;

import dev.backstop.core.source.CommandSource.StderrTail;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.internal.OptionFile;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@code mariadb-binlog} a {@link BinlogReceiver} runs: its command line for one start and what
 * it prints, logged line by line as it prints it. Holds no process; the receiver starts, watches and
 * kills it.
 */
final class BinlogTool {
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

    /** Logs what the started {@code process} prints, line by line, from now on. */
    void follow(Process process) {
        output = StderrTail.logged(process.getInputStream(), "mariadb-binlog");
    }

    /** The last line the tool printed (why it exited), once it has exited. */
    String lastLine() {
        StderrTail tail = output;
        List<String> lines = tail == null ? List.of() : tail.await().lines().filter(l -> !l.isBlank()).toList();
        return lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1).strip();
    }
}
