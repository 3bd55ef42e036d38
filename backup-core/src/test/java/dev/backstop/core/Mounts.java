package dev.backstop.core;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real mounts for tests of storage failures (a small tmpfs that fills up, a read-only bind mount),
 * made with {@code mount(8)}. Needs root; a test that cannot mount is skipped, not failed.
 */
final class Mounts implements AutoCloseable {
    private final List<Path> mounted = new ArrayList<>();

    /** Mounts a tmpfs of {@code size} (as mount(8) writes it: {@code 1m}) at {@code dir}. */
    Path tmpfs(Path dir, String size) throws Exception {
        Files.createDirectories(dir);
        mount(dir, "mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString());
        return dir;
    }

    /** Makes {@code dir} read-only where it is, with a read-only bind mount over itself. */
    Path readOnly(Path dir) throws Exception {
        mount(dir, "mount", "--bind", dir.toString(), dir.toString());
        run("mount", "-o", "remount,bind,ro", dir.toString());
        return dir;
    }

    private void mount(Path dir, String... command) throws Exception {
        String out = run(command);
        assumeTrue(out == null, "cannot mount (needs root): " + out);
        mounted.add(dir);
    }

    /** Runs a command; null when it exited 0, else its output. */
    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out: " + String.join(" ", command);
        }
        return p.exitValue() == 0 ? null : String.join(" ", command) + " exited " + p.exitValue() + ": " + out.strip();
    }

    @Override
    public void close() throws IOException {
        try {
            for (int i = mounted.size() - 1; i >= 0; i--) {
                String failed = run("umount", mounted.get(i).toString());
                if (failed != null) {
                    run("umount", "-l", mounted.get(i).toString());
                }
            }
            mounted.clear();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while unmounting " + mounted, e);
        }
    }
}
