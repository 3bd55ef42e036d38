package dev.backstop.benchmarks;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.DataSize;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Restore-side decode: backs up {@code size} MiB of {@link Payload#MIXED} twice into a filesystem
 * repository, with zstd-3 + AEAD as one zstd stream and with zstd-3 in framed mode (2 workers),
 * then times {@code Restore.open} read to a discarding sink, the variants interleaved round by
 * round (the machine is shared), and prints wall and process CPU time per round and their
 * medians: the stream on one thread, the stream pipelined (AEAD on a second thread), the framed
 * object pipelined (AEAD on a second thread, frames on the decode threads).
 *
 * <p>With {@code --codec}, zstd alone on a fully generated MIXED payload in memory: encode MB/s and
 * ratio of zstd's native multithreading (2 workers, one frame) against framed mode with 2 workers
 * and 2, 4 and 8 MiB frames, and decode MB/s of each (the native stream on zstd's streaming
 * decoder, framed objects on the framed decoder's threads).
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.backstop.benchmarks.RestoreDecodeBench DIR [MiB] [rounds]
 *java -Xmx3g -cp benchmarks/target/benchmarks.jar dev.backstop.benchmarks.RestoreDecodeBench --codec [MiB] [rounds]</pre>
 */
public final class RestoreDecodeBench {
    private RestoreDecodeBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("--codec")) {
            codec(args.length > 1 ? Integer.parseInt(args[1]) : 256, args.length > 2 ? Integer.parseInt(args[2]) : 5);
            return;
        }
        Path dir = Path.of(args[0]);
        long size = (args.length > 1 ? Long.parseLong(args[1]) : 512) << 20;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        Files.createDirectories(dir);
        Repository repo = Repository.filesystem(dir.resolve("repo"));
        LocalKeysetKek kek = LocalKeysetKek.create(dir.resolve("kek.json"));
        Manifest stream = BackupPipeline.builder().source(mixed(size)).repository(repo)
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();
        Manifest framed = BackupPipeline.builder().source(mixed(size)).repository(repo)
                .compress(ZstdTransform.builder().level(3).workers(2).build()).encrypt(Encryption.with(kek)).build().run();
        System.out.printf("backup: %d MiB plaintext, %d MiB stored as one stream, %d MiB framed%n", stream.plaintextBytes() >> 20,
                stream.storedBytes() >> 20, framed.storedBytes() >> 20);
        Restore single = Restore.builder().repository(repo).keys(kek).pipelining(false).build();
        Restore pipelined = Restore.builder().repository(repo).keys(kek).pipelining(true).build();
        String[] names = {"stream single", "stream pipelined", "framed pipelined"};
        Restore[] restores = {single, pipelined, pipelined};
        Manifest[] manifests = {stream, stream, framed};
        List<List<double[]>> results = new ArrayList<>();
        for (int v = 0; v < names.length; v++) {
            // one untimed pass each: JIT, AES-GCM warm-up, page cache
            run(restores[v], manifests[v]);
            results.add(new ArrayList<>());
        }
        for (int r = 0; r < rounds; r++) {
            StringBuilder line = new StringBuilder("round " + r + ":");
            for (int k = 0; k < names.length; k++) {
                int v = (k + r) % names.length;
                double[] x = run(restores[v], manifests[v]);
                results.get(v).add(x);
                line.append(String.format(" | %s wall %.2f s cpu %.2f s (reader %.2f s)", names[v], x[0], x[1], x[2]));
            }
            System.out.println(line);
        }
        for (int v = 0; v < names.length; v++) {
            List<double[]> x = results.get(v);
            System.out.printf("median %-17s wall %.2f s, cpu %.2f s (%.0f MiB/s plaintext), reader thread cpu %.2f s%n", names[v] + ":",
                    median(x, 0), median(x, 1), stream.plaintextBytes() / 1048576.0 / median(x, 0), median(x, 2));
        }
        System.out.println("load: " + load());
    }

    /** zstd alone, in memory: native multithreading against framed mode. */
    private static void codec(int mib, int rounds) throws IOException {
        byte[] data = Payload.MIXED.generate(mib << 20, 42);
        ZstdTransform native2 = ZstdTransform.level(3);
        String[] names = {"native-mt w2", "framed 2MiB w2", "framed 4MiB w2", "framed 8MiB w2"};
        ZstdTransform[] framed = {null, frames(2), frames(4), frames(8)};
        List<List<double[]>> results = new ArrayList<>();
        long[] stored = new long[names.length];
        for (int v = 0; v < names.length; v++) {
            results.add(new ArrayList<>());
        }
        for (int r = -1; r < rounds; r++) {
            for (int k = 0; k < names.length; k++) {
                int v = Math.floorMod(k + r, names.length);
                ZstdTransform decoder = framed[v] == null ? native2 : framed[v];
                ByteArrayOutputStream enc = new ByteArrayOutputStream(data.length / 2);
                long c0 = cpu();
                long t0 = System.nanoTime();
                try (OutputStream out = framed[v] == null ? nativeMt(enc) : framed[v].encode(enc, BINDING)) {
                    for (int off = 0; off < data.length; off += 128 * 1024) {
                        out.write(data, off, Math.min(128 * 1024, data.length - off));
                    }
                }
                long t1 = System.nanoTime();
                long c1 = cpu();
                byte[] bytes = enc.toByteArray();
                enc = null;
                long c2 = cpu();
                long t2 = System.nanoTime();
                try (InputStream in = decoder.decode(new ByteArrayInputStream(bytes), BINDING)) {
                    in.transferTo(OutputStream.nullOutputStream());
                }
                long t3 = System.nanoTime();
                long c3 = cpu();
                stored[v] = bytes.length;
                if (r >= 0) {
                    // round -1 warms up
                    results.get(v).add(new double[] {(t1 - t0) / 1e9, (t3 - t2) / 1e9, (c1 - c0) / 1e9, (c3 - c2) / 1e9});
                }
            }
        }
        System.out.printf("zstd-3 on %d MiB of MIXED, %d rounds, medians%n", mib, rounds);
        for (int v = 0; v < names.length; v++) {
            List<double[]> x = results.get(v);
            System.out.printf("%-15s ratio %.4f  encode %.0f MiB/s (best %.0f, cpu %.2f s)  decode %.0f MiB/s (best %.0f, cpu %.2f s)"
                    + " (%s)%n", names[v], (double) data.length / stored[v], mib / median(x, 0), mib / best(x, 0), median(x, 2),
                    mib / median(x, 1), mib / best(x, 1), median(x, 3), framed[v] == null ? "streaming decoder" : "framed decoder, "
                    + framed[v].decodeThreads() + " threads");
        }
        System.out.println("load: " + load());
    }

    private static final ObjectBinding BINDING = new ObjectBinding("20261121T000000Z-raw-abc123", "backups/b/data");

    private static ZstdTransform frames(int mib) {
        return ZstdTransform.builder().level(3).workers(2).frameSize(DataSize.ofMiB(mib)).build();
    }

    /** What {@code workers(2)} wrote before framed mode: one frame from zstd's own threads. */
    private static OutputStream nativeMt(OutputStream out) throws IOException {
        ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(out, RecyclingBufferPool.INSTANCE);
        z.setLevel(3);
        z.setChecksum(true);
        z.setWorkers(2);
        return z;
    }

    /** The fastest round: what the code does when the shared machine leaves it alone. */
    private static double best(List<double[]> runs, int i) {
        return runs.stream().mapToDouble(r -> r[i]).min().orElseThrow();
    }

    private static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static double[] run(Restore restore, Manifest m) throws IOException {
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long own0 = threads.getCurrentThreadCpuTime();
        long cpu0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        try (InputStream in = restore.open(m, "data")) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        long t1 = System.nanoTime();
        long cpu1 = os.getProcessCpuTime();
        long own1 = threads.getCurrentThreadCpuTime();
        return new double[] {(t1 - t0) / 1e9, (cpu1 - cpu0) / 1e9, (own1 - own0) / 1e9};
    }

    private static double median(List<double[]> runs, int i) {
        double[] v = runs.stream().mapToDouble(r -> r[i]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** {@code size} bytes of MIXED rows: 8 distinct 4 MiB blocks, each MiB touched so none repeats. */
    private static CaptureSource mixed(long size) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                byte[][] blocks = new byte[8][];
                for (int i = 0; i < blocks.length; i++) {
                    blocks[i] = Payload.MIXED.generate(4 << 20, i);
                }
                Random r = new Random(1);
                try (OutputStream out = streams.open("data")) {
                    for (long written = 0; written < size; written += 4 << 20) {
                        byte[] b = blocks[r.nextInt(blocks.length)];
                        for (int k = 0; k < 256; k++) {
                            b[r.nextInt(b.length)] = (byte) ('a' + r.nextInt(26));
                        }
                        out.write(b, 0, (int) Math.min(b.length, size - written));
                    }
                }
                return CaptureResult.builder(SourceInfo.of("generator", "1")).build();
            }
        };
    }
}
