package dev.backstop.benchmarks;

import com.adobe.testing.s3mock.S3MockApplication;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.DataSize;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.Sink;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.s3.S3Sink;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * The heap a large backup needs: run it with a small {@code -Xmx} and read the peaks. The
 * integration tests prove that these sizes pass in a bounded heap; this prints the figures.
 *
 * <pre>
 *   java -Xmx128m -cp benchmarks/target/benchmarks.jar dev.backstop.benchmarks.HeapMeasurement backup 4GiB
 *   java -Xmx192m -cp benchmarks/target/benchmarks.jar dev.backstop.benchmarks.HeapMeasurement s3 3GiB
 * </pre>
 *
 * {@code backup}: a generated text-like stream through zstd-3 (2 workers) and AES-GCM into a
 * filesystem repository, then a full verify; prints the stored size and the peak heap. {@code s3}:
 * incompressible bytes of unknown length through {@code S3Sink} (16 MiB parts, 2 in flight) into
 * an in-process S3 server; prints the parts and the old generation's peak (eden and survivor
 * peaks happen at different moments; the old generation grows when something holds on to data).
 */
public final class HeapMeasurement {
    private HeapMeasurement() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !(args[0].equals("backup") || args[0].equals("s3"))) {
            System.err.println("usage: HeapMeasurement backup|s3 <size, e.g. 4GiB>");
            System.exit(2);
        }
        long size = DataSize.parse(args[1]).bytes();
        Path dir = Files.createTempDirectory("backstop-heap-");
        try {
            if (args[0].equals("backup")) {
                backup(size, dir);
            } else {
                s3(size, dir);
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void backup(long size, Path dir) throws Exception {
        Repository repo = Repository.filesystem(dir.resolve("repo"));
        LocalKeysetKek kek = LocalKeysetKek.create(dir.resolve("kek.json"));
        byte[][] blocks = new byte[8][];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = Payload.MIXED.generate(1 << 20, i);
        }
        Random r = new Random(4);
        CaptureSource generator = new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream out = streams.open("big")) {
                    for (long written = 0; written < size; written += 1 << 20) {
                        byte[] b = blocks[r.nextInt(blocks.length)];
                        // a few fresh bytes per block, so no two MiB are identical
                        for (int k = 0; k < 64; k++) {
                            b[r.nextInt(b.length)] = (byte) ('a' + r.nextInt(26));
                        }
                        out.write(b);
                    }
                }
                return CaptureResult.builder(SourceInfo.of("generator", "1")).build();
            }
        };
        Manifest m = BackupPipeline.builder().source(generator).repository(repo).compress(ZstdTransform.builder().level(3).workers(2).build()).encrypt(Encryption.with(kek)).build().run();
        ValidationResult full = Restore.builder().repository(repo).keys(kek).build().verify(m);
        System.out.println("mode=backup plaintext_bytes=" + m.plaintextBytes() + " stored_bytes=" + m.storedBytes()
                + " verified=" + full.passed() + " heap_max_bytes=" + Runtime.getRuntime().maxMemory()
                + " heap_peak_bytes=" + peak(false));
    }

    private static void s3(long size, Path dir) throws Exception {
        Map<String, Object> props = new HashMap<>();
        props.put(S3MockApplication.PROP_HTTP_PORT, S3MockApplication.RANDOM_PORT);
        props.put(S3MockApplication.PROP_HTTPS_PORT, S3MockApplication.RANDOM_PORT);
        props.put("server.address", "127.0.0.1");
        props.put("com.adobe.testing.s3mock.store.root", dir.toString());
        props.put("com.adobe.testing.s3mock.store.retain-files-on-exit", false);
        props.put(S3MockApplication.PROP_SILENT, true);
        S3MockApplication server = S3MockApplication.start(props);
        // S3Mock deprecates running it inside a JVM as a whole; the HTTP port has no other accessor
        @SuppressWarnings("deprecation") int port = server.getHttpPort();
        try (S3AsyncClient client = S3AsyncClient.builder().endpointOverride(URI.create("http://127.0.0.1:" + port))
                .forcePathStyle(true).region(Region.US_EAST_1).build();
             S3Sink sink = S3Sink.builder().client(client).bucket("heap").partSize(DataSize.ofMiB(16)).partsInFlight(2).build()) {
            client.createBucket(b -> b.bucket("heap")).join();
            byte[] block = new byte[1 << 20];
            Random r = new Random(11);
            try (Sink.Upload up = sink.create("backups/big/dump", ObjectKind.DATA)) {
                try (OutputStream out = up.stream()) {
                    for (long n = 0; n < size; n += block.length) {
                        r.nextBytes(block);
                        out.write(block);
                    }
                }
                up.commit();
            }
            System.out.println("mode=s3 bytes=" + size + " part_bytes=" + (16 << 20) + " heap_max_bytes="
                    + Runtime.getRuntime().maxMemory() + " old_generation_peak_bytes=" + peak(true));
        } finally {
            server.stop();
        }
    }

    private static long peak(boolean oldGenerationOnly) {
        return ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP && (!oldGenerationOnly || p.getName().contains("Old")))
                .mapToLong(p -> p.getPeakUsage().getUsed()).sum();
    }
}
