package dev.backstop.core.internal.concurrent;

import dev.backstop.core.source.CommandSource.StderrTail;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A program that sets up or stops a throwaway server ({@code initdb}, {@code pg_ctl}, {@code
 * mariadb-install-db}), run to its end with its output kept for the message when it fails.
 */
public final class SetupCommand {
    private SetupCommand() {
    }

    /**
     * Runs {@code cmd} in {@code dir} (null: this process's working directory) with no input, for
     * at most {@code timeout}; returns the tail of its output (standard output and error
     * together). Throws an {@link IOException} naming {@code what} and that tail when the program
     * exits non-zero or overruns (it is then killed), or when the thread is interrupted (killed
     * too, interrupt flag set again).
     */
    public static String run(List<String> cmd, String what, Path dir, Duration timeout) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        Process p = pb.start();
        StderrTail out = StderrTail.start(p.getInputStream(), what);
        try {
            if (!p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                p.destroyForcibly();
                throw new IOException(what + " did not finish within " + timeout.toSeconds() + " s: " + out.text());
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(what + " interrupted", e);
        }
        String text = out.await();
        if (p.exitValue() != 0) {
            throw new IOException(what + " exited " + p.exitValue() + ": " + text.strip());
        }
        return text;
    }
}
