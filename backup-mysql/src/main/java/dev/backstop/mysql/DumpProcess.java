package dev.backstop.mysql;

import dev.backstop.core.CaptureFailedException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts the dump program with the option file as its only source of connection settings, and waits for it. */
final class DumpProcess {
    /** The tools' own logger, shared with the lines they write to stderr. */
    private static final Logger LOG = LoggerFactory.getLogger("dev.backstop.tools");

    private DumpProcess() {
    }

    /** The stdio output buffer a dump program is given through {@code stdbuf}. */
    static final String OUTPUT_BUFFER = "64K";
    /** How long the check that {@code stdbuf} works may take before the dump runs without it. */
    private static final long PROBE_SECONDS = 10;

    /**
     * {@code cmd} ({@code program} and its arguments) under {@code stdbuf -o 64K} when {@code tools}
     * find a {@code stdbuf} that runs the program; else {@code cmd} as it is. The dump programs write
     * through stdio, whose buffer on a pipe is one page: every 4 KiB of the dump costs a write on
     * their side and a read with a wake-up on this side, which adds up to more CPU than the plaintext
     * SHA-256. With a buffer of a pipe's capacity both sides move the dump 64 KiB at a time, while the
     * program still finds room for its next write as soon as the previous one is read (a larger
     * buffer would make it wait for the reader to drain each write whole); the bytes are the same. {@code stdbuf} replaces itself with the program, so the process is the
     * program's (its pid, exit code and stderr).
     */
    static List<String> withOutputBuffer(List<String> cmd, MariaDbTools tools) {
        Optional<Path> stdbuf = tools.find("stdbuf");
        if (stdbuf.isEmpty()) {
            return cmd;
        }
        List<String> buffered = new ArrayList<>(List.of(stdbuf.get().toString(), "-o", OUTPUT_BUFFER));
        buffered.addAll(cmd);
        // a stdbuf without its preload library fails every program it runs: try it on this one first
        List<String> probe = new ArrayList<>(buffered.subList(0, 4));
        probe.add("--version");
        try {
            Process p = new ProcessBuilder(probe).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor(PROBE_SECONDS, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return buffered;
            }
            p.destroyForcibly();
        } catch (IOException e) {
            // no usable stdbuf: the dump runs with the program's own buffer
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.atDebug().addKeyValue("event", "tool.unbuffered").addKeyValue("stdbuf", stdbuf.get())
                .log("{} did not run {}: the dump runs without it", stdbuf.get(), cmd.get(0));
        return cmd;
    }

    /** Starts {@code cmd} ({@code program} and its arguments) with no standard input. */
    static Process start(List<String> cmd, Path program) throws CaptureFailedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        // the option file is the only source of connection settings
        for (String v : List.of("MYSQL_PWD", "MYSQL_HOST", "MYSQL_TCP_PORT", "MYSQL_UNIX_PORT", "MYSQL_HISTFILE")) {
            pb.environment().remove(v);
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new CaptureFailedException("could not start " + program + ": " + e.getMessage(), null, null, e);
        }
        logStarted(program.getFileName().toString(), p, cmd);
        return p;
    }

    /**
     * Logs that {@code tool} started as {@code p} with {@code cmd}: the arguments hold no secret, the
     * option file carries the credentials.
     */
    static void logStarted(String tool, Process p, List<String> cmd) {
        LOG.atInfo().addKeyValue("event", "tool.started").addKeyValue("tool", tool).addKeyValue("pid", p.pid())
                .addKeyValue("args", cmd.subList(1, cmd.size())).log("{} started", tool);
    }

    /** Logs the exit of {@code tool}: DEBUG when it succeeded, WARN otherwise. */
    static void logExit(String tool, Process p, int code) {
        (code == 0 ? LOG.atDebug() : LOG.atWarn()).addKeyValue("event", "tool.exited").addKeyValue("tool", tool)
                .addKeyValue("pid", p.pid()).addKeyValue("exit.code", code).log("{} exited with {}", tool, code);
    }

    /** Waits for {@code p} to exit; returns its exit code. Kills it when interrupted. */
    static int waitFor(Process p) throws CaptureFailedException {
        try {
            int code = p.waitFor();
            logExit("dump program", p, code);
            return code;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CaptureFailedException("interrupted while waiting for the dump program", null, null, e);
        }
    }

    /** The start of a dump: {@code bytes[0..length)}, and the binlog position if it was among them. */
    record Head(byte[] bytes, int length, Optional<DumpComments.Position> position) {
    }

    /**
     * Reads {@code in} until its binlog position comment, its end, or {@code limit} bytes,
     * whichever comes first.
     */
    static Head readHead(InputStream in, int limit) throws IOException {
        byte[] head = new byte[64 * 1024];
        int headLength = 0;
        Optional<DumpComments.Position> dumped = Optional.empty();
        while (dumped.isEmpty()) {
            if (headLength == head.length) {
                if (head.length >= limit) {
                    break;
                }
                head = Arrays.copyOf(head, head.length * 2);
            }
            int n = in.read(head, headLength, head.length - headLength);
            if (n < 0) {
                break;
            }
            headLength += n;
            dumped = DumpComments.position(head, headLength);
        }
        return new Head(head, headLength, dumped);
    }
}
