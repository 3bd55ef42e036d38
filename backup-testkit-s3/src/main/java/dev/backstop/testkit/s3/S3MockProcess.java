package dev.backstop.testkit.s3;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.testkit.s3.internal.S3MockLauncher;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One S3Mock server in a child process, with its store and log in a directory of its own: the
 * process side of {@link LocalS3}. {@link #start()} returns once it answers HTTP; {@link #close()}
 * ends it and deletes the directory.
 */
final class S3MockProcess implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final String DIR_PREFIX = "backstop-local-s3-";
    /** Names the JVM that owns a directory, so a later start can delete what a killed JVM left. */
    private static final String OWNER_FILE = "owner.pid";
    private static final int PORT_ATTEMPTS = 3;

    private final Path dir;
    private final Process process;
    private final int port;

    private S3MockProcess(Path dir, Process process, int port) {
        this.dir = dir;
        this.process = process;
        this.port = port;
    }

    /** Starts S3Mock on a free loopback port and waits until it answers. */
    static S3MockProcess start() {
        Path jar = executableJar();
        sweepLeftovers();
        Path dir;
        try {
            dir = Files.createTempDirectory(DIR_PREFIX);
            Files.writeString(dir.resolve(OWNER_FILE), Long.toString(ProcessHandle.current().pid()));
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a directory for the local S3 store", e);
        }
        try {
            for (int attempt = 1; ; attempt++) {
                int port = freeLoopbackPort();
                Process p = launch(dir, jar, port);
                if (awaitReady(p, port)) {
                    return new S3MockProcess(dir, p, port);
                }
                boolean exited = !p.isAlive();
                if (exited && attempt < PORT_ATTEMPTS) {
                    // most likely another process took the port between our probe and S3Mock's bind
                    continue;
                }
                stop(p);
                throw new IllegalStateException("S3Mock (" + jar + ") did not answer on 127.0.0.1:" + port + " within "
                        + START_TIMEOUT.toSeconds() + " s" + (exited ? " (exited " + p.exitValue() + ")" : "")
                        + "; the end of its log:\n" + tail(log(dir), 40));
            }
        } catch (RuntimeException | Error e) {
            deleteTree(dir);
            throw e;
        }
    }

    int port() {
        return port;
    }

    Path directory() {
        return dir;
    }

    Process process() {
        return process;
    }

    /** Ends the process and deletes the directory; safe to call twice. */
    @Override
    public void close() {
        try {
            stop(process);
        } finally {
            deleteTree(dir);
        }
    }

    private static Process launch(Path dir, Path jar, int port) {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(javaBin.toString(),
                // a test server: start fast and stay small rather than reach peak throughput
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k", "-Xmx512m",
                // S3MockLauncher runs the jar as -jar would, and exits when this JVM's end closes its stdin
                "-cp", jar + java.io.File.pathSeparator + location(S3MockLauncher.class) + java.io.File.pathSeparator
                        + location(DaemonThreads.class), S3MockLauncher.class.getName(),
                "--http.port=" + port,
                "--server.port=0",
                "--server.address=127.0.0.1",
                "--com.adobe.testing.s3mock.store.root=" + dir.resolve("store"),
                "--com.adobe.testing.s3mock.store.retain-files-on-exit=false",
                "--spring.main.banner-mode=off",
                "--logging.level.root=WARN"));
        try {
            return new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("s3mock.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start S3Mock: " + String.join(" ", cmd), e);
        }
    }

    /**
     * The jar or directory {@code c} was loaded from: the child process needs S3MockLauncher and the
     * thread factory it starts its watcher with.
     */
    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException | NullPointerException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot tell where " + c.getName() + " was loaded from, "
                    + "so S3Mock cannot be started: " + e, e);
        }
    }

    /** Polls the HTTP port until S3Mock answers, it exits, or the start timeout passes. */
    private static boolean awaitReady(Process p, int port) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        long pauseMillis = 20;
        while (System.nanoTime() < deadline) {
            if (answers(port)) {
                return true;
            }
            try {
                // waitFor returns early when the process exits, so a failed start is seen at once
                if (p.waitFor(pauseMillis, TimeUnit.MILLISECONDS)) {
                    return false;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            pauseMillis = Math.min(200, pauseMillis * 2);
        }
        return false;
    }

    private static boolean answers(int port) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/").toURL().openConnection();
            c.setConnectTimeout(500);
            c.setReadTimeout(2000);
            try {
                return c.getResponseCode() > 0;
            } finally {
                c.disconnect();
            }
        } catch (IOException e) {
            return false;
        }
    }

    private static int freeLoopbackPort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("could not find a free loopback port", e);
        }
    }

    /** The S3Mock executable jar: the system property, the class path, then the local Maven repository. */
    static Path executableJar() {
        String override = System.getProperty(LocalS3.JAR_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path p = Path.of(override);
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(LocalS3.JAR_PROPERTY + "=" + override + ": no such file");
            }
            return p;
        }
        String version = s3MockVersion();
        String file = "s3mock-" + version + "-exec.jar";
        // only S3Mock's executable jar holds this entry; the class is never loaded from there
        URL inJar = S3MockProcess.class.getClassLoader().getResource("BOOT-INF/classes/com/adobe/testing/s3mock/S3MockApplication.class");
        if (inJar != null && inJar.getProtocol().equals("jar")) {
            String path = inJar.getPath();
            try {
                Path p = Path.of(URI.create(path.substring(0, path.indexOf("!/"))));
                if (Files.isRegularFile(p)) {
                    return p;
                }
            } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
                // not a plain file URL (a nested jar): fall back to the local repository
            }
        }
        List<Path> tried = new ArrayList<>();
        String repo = System.getProperty("maven.repo.local");
        if (repo != null && !repo.isBlank()) {
            tried.add(Path.of(repo));
        }
        tried.add(Path.of(System.getProperty("user.home"), ".m2", "repository"));
        List<Path> candidates = new ArrayList<>();
        for (Path r : tried) {
            Path p = r.resolve("com/adobe/testing/s3mock").resolve(version).resolve(file);
            candidates.add(p);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new IllegalStateException("S3Mock's executable jar " + file + " is neither on the class path nor at "
                + candidates + "; depend on dev.backstop:backup-testkit-s3 (it brings com.adobe.testing:s3mock:" + version
                + ":exec) or set -D" + LocalS3.JAR_PROPERTY + "=<path to the jar>");
    }

    private static String s3MockVersion() {
        java.util.Properties props = new java.util.Properties();
        try (InputStream in = S3MockProcess.class.getResourceAsStream("s3mock.properties")) {
            if (in == null) {
                throw new IllegalStateException("s3mock.properties is missing from the backup-testkit-s3 jar");
            }
            props.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read s3mock.properties", e);
        }
        return props.getProperty("version");
    }

    private static String log(Path dir) {
        try {
            return Files.readString(dir.resolve("s3mock.log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(all, Math.max(0, all.length - lines), all.length));
    }

    private static void stop(Process p) {
        try {
            // end of input makes S3MockLauncher exit, running S3Mock's own shutdown
            p.getOutputStream().close();
        } catch (IOException ignored) {
            // already closed: destroy below
        }
        try {
            if (p.waitFor(10, TimeUnit.SECONDS)) {
                return;
            }
            p.destroy();
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(15, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Deletes directories of earlier servers whose JVM is gone (killed before it could clean up). */
    private static void sweepLeftovers() {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        try (var dirs = Files.newDirectoryStream(tmp, DIR_PREFIX + "*")) {
            for (Path d : dirs) {
                try {
                    long owner = Long.parseLong(Files.readString(d.resolve(OWNER_FILE)).trim());
                    if (ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false)) {
                        continue;
                    }
                } catch (IOException | NumberFormatException e) {
                    // no readable owner: being created right now, or not ours to judge
                    continue;
                }
                deleteTree(d);
            }
        } catch (IOException ignored) {
            // an unreadable temporary directory only means nothing is swept
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a file still open on another platform is left for the OS's temp cleaner
                }
            });
        } catch (IOException ignored) {
            // the directory vanished meanwhile
        }
    }
}
