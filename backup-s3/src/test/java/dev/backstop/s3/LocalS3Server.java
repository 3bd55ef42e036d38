package dev.backstop.s3;

import com.adobe.testing.s3mock.S3MockApplication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;

/**
 * One in-process S3 server (Adobe S3Mock) for all tests of this JVM, on a random loopback port
 * with its store in a temporary directory. It stores Object Lock settings but does not enforce
 * them, and it does not check credentials. (backup-testkit's {@code LocalS3} is the same for
 * other modules; this module cannot depend on the testkit, which depends on it.)
 */
final class LocalS3Server {
    private static final AtomicInteger BUCKETS = new AtomicInteger();
    private static volatile LocalS3Server shared;

    private final S3MockApplication app;
    private final URI endpoint;
    private final S3AsyncClient client;

    private LocalS3Server() {
        try {
            Path root = Files.createTempDirectory("s3mock");
            Map<String, Object> props = new HashMap<>();
            props.put(S3MockApplication.PROP_HTTP_PORT, S3MockApplication.RANDOM_PORT);
            props.put(S3MockApplication.PROP_HTTPS_PORT, S3MockApplication.RANDOM_PORT);
            props.put("com.adobe.testing.s3mock.store.root", root.toString());
            props.put("com.adobe.testing.s3mock.store.retain-files-on-exit", false);
            props.put(S3MockApplication.PROP_SILENT, true);
            props.put("server.address", "127.0.0.1");
            this.app = S3MockApplication.start(props);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // S3Mock deprecates running it inside a JVM as a whole; the HTTP port has no other accessor
        @SuppressWarnings("deprecation") int port = app.getHttpPort();
        this.endpoint = URI.create("http://127.0.0.1:" + port);
        this.client = clientBuilder().build();
        Runtime.getRuntime().addShutdownHook(new Thread(app::stop));
    }

    static LocalS3Server get() {
        if (shared == null) {
            synchronized (LocalS3Server.class) {
                if (shared == null) {
                    shared = new LocalS3Server();
                }
            }
        }
        return shared;
    }

    URI endpoint() {
        return endpoint;
    }

    /** A shared async client; tests must not close it. */
    S3AsyncClient client() {
        return client;
    }

    S3AsyncClientBuilder clientBuilder() {
        return clientBuilder(endpoint);
    }

    static S3AsyncClientBuilder clientBuilder(URI endpoint) {
        return S3AsyncClient.builder().endpointOverride(endpoint).forcePathStyle(true).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test-access", "test-secret")));
    }

    /** A new, empty bucket with a unique name. */
    String newBucket(String hint) {
        String name = hint + "-" + BUCKETS.incrementAndGet() + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
        client.createBucket(b -> b.bucket(name)).join();
        return name;
    }

    /** A new bucket with Object Lock enabled (and so versioning). */
    String newLockedBucket(String hint) {
        String name = hint + "-" + BUCKETS.incrementAndGet() + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
        client.createBucket(b -> b.bucket(name).objectLockEnabledForBucket(true)).join();
        return name;
    }
}
