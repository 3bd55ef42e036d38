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
import dev.backstop.s3.PartChecksum;
import dev.backstop.s3.S3Sink;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
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
 * The same comparison as {@link S3UploadBenchmark}, but interleaved: every round uploads once
 * with each variant, in rotating order, in one JVM against one server, so that the shared
 * machine's slow phases hit all variants alike. Prints the median, quartiles and MB/s per variant
 * and each variant's ratio to the SDK's multipart upload.
 *
 * <p>{@code java -cp ... dev.backstop.benchmarks.S3UploadComparison [rounds] [MiB] [VARIANT,...]};
 * {@code SINK_3} is the sink with 3 parts in flight instead of 2; the {@code _CRC32C} variants send CRC-32C part
 * checksums instead of SHA-256.
 */
public final class S3UploadComparison {
    enum Variant { SDK_MULTIPART, SDK_MULTIPART_SHA256, SINK, SINK_3, SINK_CRC32C, PIPELINE_PLAIN, PIPELINE_PLAIN_CRC32C,
        PIPELINE_ZSTD_AEAD }

    private static final long PART = 16L << 20;
    private static final int CHUNK = 128 * 1024;

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 12;
        int mib = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        Path store = Files.createTempDirectory("s3cmp");
        Map<String, Object> props = new HashMap<>();
        props.put(S3MockApplication.PROP_HTTP_PORT, S3MockApplication.RANDOM_PORT);
        props.put(S3MockApplication.PROP_HTTPS_PORT, S3MockApplication.RANDOM_PORT);
        props.put("server.address", "127.0.0.1");
        props.put("com.adobe.testing.s3mock.store.root", store.toString());
        props.put("com.adobe.testing.s3mock.store.retain-files-on-exit", false);
        props.put(S3MockApplication.PROP_SILENT, true);
        S3MockApplication server = S3MockApplication.start(props);
        // S3Mock deprecates running it inside a JVM as a whole; the HTTP port has no other accessor
        @SuppressWarnings("deprecation") int port = server.getHttpPort();
        URI endpoint = URI.create("http://127.0.0.1:" + port);
        try (S3AsyncClient plain = client(endpoint).build();
             S3AsyncClient multipart = client(endpoint).multipartEnabled(true)
                     .multipartConfiguration(c -> c.minimumPartSizeInBytes(PART).thresholdInBytes(PART)
                             .apiCallBufferSizeInBytes(3 * PART)).build();
             S3Sink sink = S3Sink.builder().client(plain).bucket("bench").partSize(DataSize.ofBytes(PART))
                     .partsInFlight(2).build();
             S3Sink sink3 = S3Sink.builder().client(plain).bucket("bench").partSize(DataSize.ofBytes(PART))
                     .partsInFlight(3).build();
             S3Sink sinkCrc = S3Sink.builder().client(plain).bucket("bench").partSize(DataSize.ofBytes(PART))
                     .partsInFlight(2).partChecksum(PartChecksum.CRC32C).build()) {
            plain.createBucket(b -> b.bucket("bench")).join();
            byte[] data = Payload.MIXED.generate(mib << 20, 42);
            Repository repo = Repository.on(sink);
            BackupPipeline plainPipeline = BackupPipeline.builder().source(new StreamingCoreBenchmark.ArraySource(data))
                    .repository(repo).noEncryption().build();
            BackupPipeline plainCrcPipeline = BackupPipeline.builder().source(new StreamingCoreBenchmark.ArraySource(data))
                    .repository(Repository.on(sinkCrc)).noEncryption().build();
            BackupPipeline zstdAead = BackupPipeline.builder().source(new StreamingCoreBenchmark.ArraySource(data))
                    .repository(repo).compress(ZstdTransform.level(3))
                    .encrypt(Encryption.with(LocalKeysetKek.create(Files.createTempDirectory("kek").resolve("kek.json"))))
                    .build();
            Map<Variant, List<Long>> times = new EnumMap<>(Variant.class);
            Map<Variant, List<Long>> cpu = new EnumMap<>(Variant.class);
            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            Variant[] all = args.length > 2
                    ? java.util.Arrays.stream(args[2].split(",")).map(Variant::valueOf).toArray(Variant[]::new)
                    : Variant.values();
            int n = 0;
            for (int round = -2; round < rounds; round++) {
                for (int i = 0; i < all.length; i++) {
                    Variant v = all[Math.floorMod(i + round, all.length)];
                    String key = "backups/b" + (n++) + "/data";
                    long c0 = os.getProcessCpuTime();
                    long t0 = System.nanoTime();
                    switch (v) {
                        case SDK_MULTIPART, SDK_MULTIPART_SHA256 -> sdk(multipart, key, data, v == Variant.SDK_MULTIPART_SHA256);
                        case SINK -> sink(sink, key, data);
                        case SINK_3 -> sink(sink3, key, data);
                        case SINK_CRC32C -> sink(sinkCrc, key, data);
                        case PIPELINE_PLAIN_CRC32C -> plainCrcPipeline.run();
                        case PIPELINE_PLAIN -> plainPipeline.run();
                        case PIPELINE_ZSTD_AEAD -> zstdAead.run();
                    }
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    long cpuMs = (os.getProcessCpuTime() - c0) / 1_000_000;
                    if (round >= 0) {
                        times.computeIfAbsent(v, x -> new ArrayList<>()).add(ms);
                        cpu.computeIfAbsent(v, x -> new ArrayList<>()).add(cpuMs);
                    }
                }
                for (S3Object o : plain.listObjectsV2(b -> b.bucket("bench")).join().contents()) {
                    plain.deleteObject(b -> b.bucket("bench").key(o.key())).join();
                }
            }
            double base = median(times.get(Variant.SDK_MULTIPART));
            double baseCpu = median(cpu.get(Variant.SDK_MULTIPART));
            System.out.printf(Locale.ROOT, "%d MiB MIXED per upload, 16 MiB parts, %d interleaved rounds (after 2 warm-up rounds)%n",
                    mib, rounds);
            // CPU time of the whole JVM (client and server) per upload: on two busy cores it is what
            // bounds throughput, and unlike wall time it barely moves when other work shares the machine
            System.out.printf(Locale.ROOT, "%-22s %9s %9s %9s %8s %9s %9s %11s%n", "variant", "p25 ms", "median", "p75 ms", "MB/s",
                    "vs SDK", "CPU ms", "CPU vs SDK");
            for (Variant v : all) {
                List<Long> t = times.get(v);
                double med = median(t);
                double medCpu = median(cpu.get(v));
                System.out.printf(Locale.ROOT, "%-22s %9d %9.0f %9d %8.1f %8.2fx %9.0f %10.2fx%n", v, quantile(t, 0.25), med,
                        quantile(t, 0.75), (mib * 1.048576) / (med / 1000), base / med, medCpu, baseCpu / medCpu);
            }
        } finally {
            server.stop();
        }
    }

    private static S3AsyncClientBuilder client(URI endpoint) {
        return S3AsyncClient.builder().endpointOverride(endpoint).forcePathStyle(true).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")));
    }

    private static void sdk(S3AsyncClient client, String key, byte[] data, boolean sha256) throws IOException {
        BlockingOutputStreamAsyncRequestBody body = AsyncRequestBody.forBlockingOutputStream(null);
        CompletableFuture<PutObjectResponse> f = client.putObject(b -> {
            b.bucket("bench").key(key);
            if (sha256) {
                b.checksumAlgorithm(ChecksumAlgorithm.SHA256);
            }
        }, body);
        try (OutputStream out = body.outputStream()) {
            write(out, data);
        }
        f.join();
    }

    private static void sink(Sink sink, String key, byte[] data) throws IOException {
        try (Sink.Upload up = sink.create(key, ObjectKind.DATA)) {
            try (OutputStream out = up.stream()) {
                write(out, data);
            }
            up.commit();
        }
    }

    private static void write(OutputStream out, byte[] data) throws IOException {
        for (int off = 0; off < data.length; off += CHUNK) {
            out.write(data, off, Math.min(CHUNK, data.length - off));
        }
    }

    private static double median(List<Long> t) {
        List<Long> s = t.stream().sorted().toList();
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2.0;
    }

    private static long quantile(List<Long> t, double q) {
        List<Long> s = t.stream().sorted().toList();
        return s.get((int) Math.min(s.size() - 1, Math.round(q * (s.size() - 1))));
    }

    private S3UploadComparison() {
    }
}
