package dev.backstop.testkit;

import com.adobe.testing.s3mock.S3MockApplication;
import dev.backstop.s3.S3Sink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;

/**
 * An S3 server in this JVM for tests (Adobe S3Mock 5.2): random loopback port, store in a
 * temporary directory, about 7 s to start, so share it with {@link #shared()}.
 *
 * <pre>{@code
 * S3Sink sink = LocalS3.shared().newSink("orders");
 * Repository repo = Repository.on(sink);
 * }</pre>
 *
 * <p>Clients reach it through an {@link S3Front}, which serializes conditional writes per key
 * as S3 does (S3Mock alone lets two concurrent {@code If-None-Match: *} writers both win).
 *
 * <p><b>What it does not do.</b> It does not check credentials or signatures, does not enforce
 * Object Lock (retention and legal hold are stored and read back, deletes still succeed), keeps
 * no SSE setting on multipart objects, and ignores checksum values supplied as headers (it checks
 * those the SDK sends as trailers). Anything that depends on those needs real S3.
 *
 * <p><b>Threading.</b> Safe for concurrent use. {@link #client()} is owned by this object: use
 * it, never close it.
 */
public final class LocalS3 implements AutoCloseable {
    private static final AtomicInteger BUCKETS = new AtomicInteger();
    private static volatile LocalS3 shared;

    private final S3MockApplication app;
    private final S3Front front;
    private final URI endpoint;
    private final S3AsyncClient client;

    private LocalS3() {
        Path root;
        try {
            root = Files.createTempDirectory("backstop-s3");
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a directory for the local S3 store", e);
        }
        Map<String, Object> props = new HashMap<>();
        props.put(S3MockApplication.PROP_HTTP_PORT, S3MockApplication.RANDOM_PORT);
        props.put(S3MockApplication.PROP_HTTPS_PORT, S3MockApplication.RANDOM_PORT);
        props.put("server.address", "127.0.0.1");
        props.put("com.adobe.testing.s3mock.store.root", root.toString());
        props.put("com.adobe.testing.s3mock.store.retain-files-on-exit", false);
        props.put(S3MockApplication.PROP_SILENT, true);
        this.app = S3MockApplication.start(props);
        // clients talk to the front, which makes conditional writes atomic as on S3 (see S3Front)
        // S3Mock deprecates running it inside a JVM as a whole; the HTTP port has no other accessor
        @SuppressWarnings("deprecation") int port = app.getHttpPort();
        this.front = S3Front.of(URI.create("http://127.0.0.1:" + port));
        this.endpoint = front.endpoint();
        this.client = clientBuilder().build();
    }

    /** The JVM-wide server, started on first use and stopped when the JVM exits. */
    public static LocalS3 shared() {
        LocalS3 s = shared;
        if (s == null) {
            synchronized (LocalS3.class) {
                s = shared;
                if (s == null) {
                    s = new LocalS3();
                    Runtime.getRuntime().addShutdownHook(new Thread(s::close, "local-s3-stop"));
                    shared = s;
                }
            }
        }
        return s;
    }

    /** A server of your own; {@link #close()} stops it. */
    public static LocalS3 start() {
        return new LocalS3();
    }

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

    /** Creates an empty bucket with a unique name starting with {@code hint}. */
    public String createBucket(String hint) {
        String name = bucketName(hint);
        client.createBucket(b -> b.bucket(name)).join();
        return name;
    }

    /** Creates an empty bucket with Object Lock (and so versioning) enabled. */
    public String createLockedBucket(String hint) {
        String name = bucketName(hint);
        client.createBucket(b -> b.bucket(name).objectLockEnabledForBucket(true)).join();
        return name;
    }

    /** A sink builder for a new bucket, on {@link #client()}. */
    public S3Sink.Builder sinkBuilder(String hint) {
        return S3Sink.builder().client(client).bucket(createBucket(hint));
    }

    /** A sink in a new bucket with default settings. */
    public S3Sink newSink(String hint) {
        return sinkBuilder(hint).build();
    }

    private static String bucketName(String hint) {
        String h = hint.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
        if (h.length() > 40) {
            h = h.substring(0, 40);
        }
        return (h.isEmpty() ? "b" : h) + "-" + BUCKETS.incrementAndGet() + "-" + Long.toHexString(System.nanoTime() & 0xfffff);
    }

    @Override
    public void close() {
        client.close();
        front.close();
        app.stop();
    }

    @Override
    public String toString() {
        return "LocalS3[" + endpoint + "]";
    }
}
