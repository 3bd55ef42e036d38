package dev.backstop.mysql.binlog;

import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.internal.OptionFile;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@code mariadb-binlog} a {@link BinlogReceiver} runs: its command line for one start and the
 * output it leaves in the spool directory. Holds no process; the receiver starts, watches and kills
 * it.
 */
final class BinlogTool {
    private final MariaDbTools tools;
    private final Path spool;
    private final Path log;

    BinlogTool(MariaDbTools tools, Path spool) {
        this.tools = tools;
        this.spool = spool;
        this.log = spool.resolve("mariadb-binlog.log");
    }

    /**
     * The tool receiving the server's binlogs from file {@code from} on, forever, raw into the spool
     * directory, connecting with {@code options}; its output goes to the log {@link #lastLine()} reads.
     *
     * @throws IOException if {@code mariadb-binlog} is not found
     */
    ProcessBuilder command(OptionFile options, String from) throws IOException {
        List<String> cmd = List.of(tools.tool("mariadb-binlog").toString(), options.argument(), "--read-from-remote-server",
                "--raw", "--stop-never", "--result-file=" + spool + File.separator, from);
        return new ProcessBuilder(cmd).directory(spool.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    }

    /** The last line the tool wrote (why it exited), or what kept it from being read. */
    String lastLine() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (!lines.get(i).isBlank()) {
                    return lines.get(i).strip();
                }
            }
            return "(no output)";
        } catch (IOException | UncheckedIOException e) {
            return "(its output " + log + " is unreadable: " + e.getMessage() + ")";
        }
    }
}
