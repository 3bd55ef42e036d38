package dev.backstop.testkit.s3;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.s3.S3Sink;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
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

    private static final AtomicInteger BUCKETS = new AtomicInteger();
    private static final java.util.regex.Pattern BUCKET_NAME = java.util.regex.Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
    private static volatile LocalS3 shared;

    private final S3MockProcess server;
    private final S3Front front;
    private final URI endpoint;
    private final S3AsyncClient client;
    private final Thread shutdownHook;
    private boolean closed;

    private LocalS3() {
        this.server = S3MockProcess.start();
        S3Front f;
        try {
            f = S3Front.of(URI.create("http://127.0.0.1:" + server.port()));
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        // clients talk to the front, which makes conditional writes atomic as on S3 (see S3Front)
        this.front = f;
        this.endpoint = front.endpoint();
        this.client = clientBuilder().build();
        this.shutdownHook = DaemonThreads.named("local-s3-stop").newThread(this::close);
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
        return server.process();
    }

    /** The directory holding the store and S3Mock's log; deleted by {@link #close()}. */
    public Path directory() {
        return server.directory();
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
            server.close();
        }
    }

    @Override
    public String toString() {
        return "LocalS3[" + endpoint + "]";
    }
}
