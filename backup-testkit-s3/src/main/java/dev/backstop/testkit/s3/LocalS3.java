package dev.backstop.testkit.s3;

import dev.backstop.s3.S3Sink;
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
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * An S3 server on this machine for tests: Adobe S3Mock, run from its executable jar as a child
 * process on a random loopback port, with its store in a temporary directory.
 *
 * <pre>{@code
 * S3Sink sink = LocalS3.shared().sink("orders-backups");   // bucket created if missing
 * Repository repo = Repository.on(sink);
 * }</pre>
 *
 * <p><b>Guarantees.</b> Nothing of S3Mock's (Spring Boot, Tomcat, Jackson, Kotlin, its logging)
 * is loaded into the test JVM, so it works with whatever versions and logging configuration the
 * project has; its own log goes to a file in its directory and is quoted when it fails to start.
 * {@link #start()} returns once the server answers HTTP (it polls, it does not sleep a fixed
 * time). {@link #close()} stops the process and deletes its directory; a shutdown hook does the
 * same for servers still running when the JVM exits normally. The child also ends when the test
 * JVM is killed without running hooks ({@code SIGKILL}, a fork timeout): it watches its standard
 * input, which only this JVM holds open; its directory is then left behind until the next start
 * of a {@code LocalS3}, which deletes directories whose JVM is gone.
 *
 * <p><b>Buckets.</b> {@link #sinkBuilder(String)} and {@link #sink(String)} use the bucket of
 * the given name as it is, creating it only when it is missing; {@link #newBucket(String)} makes
 * a fresh, uniquely named one for tests that must not see each other's objects.
 *
 * <p>Clients reach it through an {@link S3Front}, which serializes conditional writes per key as
 * S3 does (S3Mock alone lets two concurrent {@code If-None-Match: *} writers both win).
 *
 * <p><b>What it does not do.</b> It does not check credentials or signatures, does not enforce
 * Object Lock (retention and legal hold are stored and read back, deletes still succeed), keeps
 * no SSE setting on multipart objects, and ignores checksum values supplied as headers (it checks
 * those the SDK sends as trailers). Anything that depends on those needs real S3.
 *
 * <p><b>Finding S3Mock.</b> The executable jar ({@code com.adobe.testing:s3mock:<version>:exec},
 * a dependency of this artifact) is looked up on the class path, then in the local Maven
 * repository; the system property {@value #JAR_PROPERTY} names another file. The child runs on
 * the same {@code java} as the tests.
 *
 * <p><b>Threading.</b> Safe for concurrent use. {@link #client()} is owned by this object: use
 * it, never close it.
 */
public final class LocalS3 implements AutoCloseable {
    /** System property naming the S3Mock executable jar to run instead of the one found. */
    public static final String JAR_PROPERTY = "backstop.s3mock.jar";

    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final String DIR_PREFIX = "backstop-local-s3-";
    /** Names the JVM that owns a directory, so a later start can delete what a killed JVM left. */
    private static final String OWNER_FILE = "owner.pid";
    private static final int PORT_ATTEMPTS = 3;
    private static final AtomicInteger BUCKETS = new AtomicInteger();
    private static final java.util.regex.Pattern BUCKET_NAME = java.util.regex.Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static volatile LocalS3 shared;

    private final Path dir;
    private final Process process;
    private final S3Front front;
    private final URI endpoint;
    private final S3AsyncClient client;
    private final Thread shutdownHook;
    private boolean closed;

    private LocalS3() {
        Path jar = s3MockJar();
        sweepLeftovers();
        try {
            this.dir = Files.createTempDirectory(DIR_PREFIX);
            Files.writeString(dir.resolve(OWNER_FILE), Long.toString(ProcessHandle.current().pid()));
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a directory for the local S3 store", e);
        }
        Process started = null;
        int port = -1;
        try {
            for (int attempt = 1; started == null; attempt++) {
                port = freeLoopbackPort();
                Process p = launch(jar, port);
                if (awaitReady(p, port)) {
                    started = p;
                } else if (!p.isAlive() && attempt < PORT_ATTEMPTS) {
                    // most likely another process took the port between our probe and S3Mock's bind
                    continue;
                } else {
                    stop(p);
                    throw new IllegalStateException("S3Mock (" + jar + ") did not answer on 127.0.0.1:" + port + " within "
                            + START_TIMEOUT.toSeconds() + " s" + (p.isAlive() ? "" : " (exited " + p.exitValue() + ")")
                            + "; the end of its log:\n" + tail(log(), 40));
                }
            }
        } catch (RuntimeException | Error e) {
            deleteTree(dir);
            throw e;
        }
        this.process = started;
        // clients talk to the front, which makes conditional writes atomic as on S3 (see S3Front)
        this.front = S3Front.of(URI.create("http://127.0.0.1:" + port));
        this.endpoint = front.endpoint();
        this.client = clientBuilder().build();
        this.shutdownHook = new Thread(this::close, "local-s3-stop");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** The JVM-wide server, started on first use and stopped when the JVM exits. */
    public static LocalS3 shared() {
        LocalS3 s = shared;
        if (s == null) {
            synchronized (LocalS3.class) {
                s = shared;
                if (s == null) {
                    s = new LocalS3();
                    shared = s;
                }
            }
        }
        return s;
    }

    /** A server of your own, ready to answer; {@link #close()} stops it and deletes its store. */
    public static LocalS3 start() {
        return new LocalS3();
    }

    /** Where clients connect (the {@link S3Front} in front of S3Mock). */
    public URI endpoint() {
        return endpoint;
    }

    public Region region() {
        return Region.US_EAST_1;
    }

    public AwsCredentialsProvider credentials() {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create("local-access-key", "local-secret-key"));
    }

    /** A client builder aimed at this server (path-style, fixed credentials); you own what you build. */
    public S3AsyncClientBuilder clientBuilder() {
        return S3AsyncClient.builder().endpointOverride(endpoint).forcePathStyle(true).region(region())
                .credentialsProvider(credentials());
    }

    /** A client owned by this server object; do not close it. */
    public S3AsyncClient client() {
        return client;
    }

    /** The S3Mock child process (tests). */
    Process process() {
        return process;
    }

    /** The directory holding the store and S3Mock's log; deleted by {@link #close()}. */
    public Path directory() {
        return dir;
    }

    /**
     * Makes sure bucket {@code name} exists: an existing bucket is used as it is (its objects and
     * settings untouched), a missing one is created. Returns {@code name}.
     */
    public String bucket(String name) {
        Objects.requireNonNull(name, "name");
        if (!BUCKET_NAME.matcher(name).matches() || name.contains("..")) {
            throw new IllegalArgumentException("bucket name '" + name + "': S3 allows 3 to 63 characters of a-z, 0-9, '.' "
                    + "and '-', beginning and ending with a letter or digit");
        }
        if (!exists(name)) {
            try {
                client.createBucket(b -> b.bucket(name)).join();
            } catch (RuntimeException e) {
                // a concurrent caller may have created it in between: that is what was asked for
                if (!exists(name)) {
                    throw e;
                }
            }
        }
        return name;
    }

    /** Creates a new, empty bucket named {@code prefix-<n>-<hex>}, unique in this JVM; returns its name. */
    public String newBucket(String prefix) {
        String name = uniqueName(prefix);
        client.createBucket(b -> b.bucket(name)).join();
        return name;
    }

    /** Creates a new, empty bucket with Object Lock (and so versioning) enabled; named as {@link #newBucket}. */
    public String newLockedBucket(String prefix) {
        String name = uniqueName(prefix);
        client.createBucket(b -> b.bucket(name).objectLockEnabledForBucket(true)).join();
        return name;
    }

    /** A sink builder on bucket {@code bucket} (used as is, created if missing), on {@link #client()}. */
    public S3Sink.Builder sinkBuilder(String bucket) {
        return S3Sink.builder().client(client).bucket(bucket(bucket));
    }

    /** A sink with default settings on bucket {@code bucket} (used as is, created if missing). */
    public S3Sink sink(String bucket) {
        return sinkBuilder(bucket).build();
    }

    private boolean exists(String bucket) {
        try {
            client.headBucket(b -> b.bucket(bucket)).get();
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof NoSuchBucketException
                    || (e.getCause() instanceof S3Exception s3 && s3.statusCode() == 404)) {
                return false;
            }
            throw new IllegalStateException("could not check bucket " + bucket + " on " + this + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted checking bucket " + bucket, e);
        }
    }

    private static String uniqueName(String prefix) {
        String h = prefix.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-").replaceAll("^-+", "");
        if (h.length() > 40) {
            h = h.substring(0, 40);
        }
        return (h.isEmpty() ? "b" : h) + "-" + BUCKETS.incrementAndGet() + "-" + Long.toHexString(System.nanoTime() & 0xfffff);
    }

    private Process launch(Path jar, int port) {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(javaBin.toString(),
                // a test server: start fast and stay small rather than reach peak throughput
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k", "-Xmx512m",
                // S3MockLauncher runs the jar as -jar would, and exits when this JVM's end closes its stdin
                "-cp", jar + java.io.File.pathSeparator + ownLocation(), S3MockLauncher.class.getName(),
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

    /** The jar or directory this class was loaded from: the child process needs S3MockLauncher. */
    private static Path ownLocation() {
        try {
            return Path.of(S3MockLauncher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException | NullPointerException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot tell where backup-testkit-s3's classes were loaded from, "
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
    static Path s3MockJar() {
        String override = System.getProperty(JAR_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path p = Path.of(override);
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(JAR_PROPERTY + "=" + override + ": no such file");
            }
            return p;
        }
        String version = s3MockVersion();
        String file = "s3mock-" + version + "-exec.jar";
        // only S3Mock's executable jar holds this entry; the class is never loaded from there
        URL inJar = LocalS3.class.getClassLoader().getResource("BOOT-INF/classes/com/adobe/testing/s3mock/S3MockApplication.class");
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
                + ":exec) or set -D" + JAR_PROPERTY + "=<path to the jar>");
    }

    private static String s3MockVersion() {
        java.util.Properties props = new java.util.Properties();
        try (InputStream in = LocalS3.class.getResourceAsStream("s3mock.properties")) {
            if (in == null) {
                throw new IllegalStateException("s3mock.properties is missing from the backup-testkit-s3 jar");
            }
            props.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read s3mock.properties", e);
        }
        return props.getProperty("version");
    }

    private String log() {
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

    /** Stops the server and deletes its directory; safe to call twice. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException | SecurityException alreadyShuttingDown) {
            // running as the hook itself
        }
        try {
            client.close();
            front.close();
        } finally {
            stop(process);
            deleteTree(dir);
        }
    }

    @Override
    public String toString() {
        return "LocalS3[" + endpoint + "]";
    }
}
