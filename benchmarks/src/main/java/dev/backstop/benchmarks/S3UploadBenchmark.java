package dev.backstop.benchmarks;

import com.adobe.testing.s3mock.S3MockApplication;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.DataSize;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Sink;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.s3.S3Sink;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.BlockingOutputStreamAsyncRequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Upload throughput to an in-process S3 server (S3Mock on loopback), one 128 MiB object of
 * unknown length per operation, written in 128 KiB chunks. Each iteration is one upload, timed
 * alone (an upload takes seconds here, so counting uploads per fixed interval would be too coarse):
 * MB/s = 134.2 / (ms per op / 1000).
 *
 * <ul>
 *   <li>{@code SDK_MULTIPART}: the SDK's own multipart upload ({@code multipartEnabled(true)},
 *       blocking output stream body without a length), 16 MiB parts: the baseline.
 *   <li>{@code SDK_MULTIPART_SHA256}: the same with SHA-256 part checksums (the SDK's default is
 *       CRC32), which is what the sink sends.
 *   <li>{@code SINK}: {@link S3Sink} alone, 16 MiB parts, 2 in flight, the same bytes.
 *   <li>{@code PIPELINE_PLAIN}: a backup through {@link BackupPipeline} with no transforms
 *       (SHA-256 taps, manifest) into the sink.
 *   <li>{@code PIPELINE_ZSTD_AEAD}: the same with zstd-3 and AEAD, on the {@code MIXED} payload.
 * </ul>
 * The server shares the two cores with the client, so absolute figures are low; compare rows.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class S3UploadBenchmark {
    static final int SIZE = 128 << 20;
    static final int CHUNK = 128 * 1024;
    static final long PART = 16L << 20;

    public enum Variant { SDK_MULTIPART, SDK_MULTIPART_SHA256, SINK, PIPELINE_PLAIN, PIPELINE_ZSTD_AEAD }

    @Param({"SDK_MULTIPART", "SDK_MULTIPART_SHA256", "SINK", "PIPELINE_PLAIN", "PIPELINE_ZSTD_AEAD"})
    public Variant variant;

    @Param({"MIXED"})
    public Payload payload;

    private S3MockApplication server;
    private S3AsyncClient plain;
    private S3AsyncClient multipart;
    private S3Sink sink;
    private BackupPipeline pipeline;
    private byte[] data;
    private final String bucket = "bench";
    private final AtomicLong n = new AtomicLong();

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Path store = Files.createTempDirectory("s3bench");
        Map<String, Object> props = new HashMap<>();
        props.put(S3MockApplication.PROP_HTTP_PORT, S3MockApplication.RANDOM_PORT);
        props.put(S3MockApplication.PROP_HTTPS_PORT, S3MockApplication.RANDOM_PORT);
        props.put("server.address", "127.0.0.1");
        props.put("com.adobe.testing.s3mock.store.root", store.toString());
        props.put("com.adobe.testing.s3mock.store.retain-files-on-exit", false);
        props.put(S3MockApplication.PROP_SILENT, true);
        server = S3MockApplication.start(props);
        // S3Mock deprecates running it inside a JVM as a whole; the HTTP port has no other accessor
        @SuppressWarnings("deprecation") int port = server.getHttpPort();
        URI endpoint = URI.create("http://127.0.0.1:" + port);
        plain = client(endpoint).build();
        multipart = client(endpoint).multipartEnabled(true)
                .multipartConfiguration(c -> c.minimumPartSizeInBytes(PART).thresholdInBytes(PART)
                        .apiCallBufferSizeInBytes(3 * PART))
                .build();
        plain.createBucket(b -> b.bucket(bucket)).join();
        sink = S3Sink.builder().client(plain).bucket(bucket).partSize(DataSize.ofBytes(PART)).partsInFlight(2).build();
        data = payload.generate(SIZE, 42);
        BackupPipeline.Builder p = BackupPipeline.builder().source(new StreamingCoreBenchmark.ArraySource(data))
                .repository(Repository.on(sink));
        if (variant == Variant.PIPELINE_ZSTD_AEAD) {
            p.compress(ZstdTransform.level(3))
                    .encrypt(Encryption.with(LocalKeysetKek.create(Files.createTempDirectory("kek").resolve("kek.json"))));
        } else {
            p.noEncryption();
        }
        pipeline = p.build();
    }

    private static S3AsyncClientBuilder client(URI endpoint) {
        return S3AsyncClient.builder().endpointOverride(endpoint).forcePathStyle(true).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")));
    }

    @Benchmark
    public Object upload() throws IOException {
        String key = "backups/b" + n.incrementAndGet() + "/data";
        switch (variant) {
            case SDK_MULTIPART, SDK_MULTIPART_SHA256 -> {
                BlockingOutputStreamAsyncRequestBody body = AsyncRequestBody.forBlockingOutputStream(null);
                CompletableFuture<PutObjectResponse> f = multipart.putObject(b -> {
                    b.bucket(bucket).key(key);
                    if (variant == Variant.SDK_MULTIPART_SHA256) {
                        b.checksumAlgorithm(ChecksumAlgorithm.SHA256);
                    }
                }, body);
                try (OutputStream out = body.outputStream()) {
                    write(out);
                }
                return f.join();
            }
            case SINK -> {
                try (Sink.Upload up = sink.create(key, ObjectKind.DATA)) {
                    try (OutputStream out = up.stream()) {
                        write(out);
                    }
                    up.commit();
                }
                return key;
            }
            default -> {
                return pipeline.run();
            }
        }
    }

    private void write(OutputStream out) throws IOException {
        for (int off = 0; off < data.length; off += CHUNK) {
            out.write(data, off, Math.min(CHUNK, data.length - off));
        }
    }

    /** Keeps the server's disk use flat: every object of the iteration goes. */
    @TearDown(Level.Iteration)
    public void clean() {
        for (S3Object o : plain.listObjectsV2(b -> b.bucket(bucket)).join().contents()) {
            plain.deleteObject(b -> b.bucket(bucket).key(o.key())).join();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        sink.close();
        plain.close();
        multipart.close();
        server.stop();
    }
}
