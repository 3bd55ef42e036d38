package dev.backstop.benchmarks;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.Encryption;
import dev.backstop.core.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
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
 * Restore-side decode, one thread against two: backs up {@code size} MiB of {@link Payload#MIXED}
 * with zstd-3 and AEAD into a filesystem repository, then times {@code Restore.open} read to a
 * discarding sink, the two variants interleaved round by round (the machine is shared), and prints
 * wall and process CPU time per round and their medians.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.backstop.benchmarks.RestoreDecodeBench DIR [MiB] [rounds]</pre>
 */
public final class RestoreDecodeBench {
    private RestoreDecodeBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long size = (args.length > 1 ? Long.parseLong(args[1]) : 512) << 20;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        Files.createDirectories(dir);
        Repository repo = Repository.filesystem(dir.resolve("repo"));
        LocalKeysetKek kek = LocalKeysetKek.create(dir.resolve("kek.json"));
        Manifest m = BackupPipeline.builder().source(mixed(size)).repository(repo)
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();
        System.out.printf("backup: %d MiB plaintext, %d MiB stored%n", m.plaintextBytes() >> 20, m.storedBytes() >> 20);
        Restore single = Restore.builder().repository(repo).keys(kek).pipelining(false).build();
        Restore pipelined = Restore.builder().repository(repo).keys(kek).pipelining(true).build();
        // one untimed pass each: JIT, AES-GCM warm-up, page cache
        run(single, m);
        run(pipelined, m);
        List<double[]> s = new ArrayList<>();
        List<double[]> p = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            boolean singleFirst = r % 2 == 0;
            double[] a = run(singleFirst ? single : pipelined, m);
            double[] b = run(singleFirst ? pipelined : single, m);
            double[] sr = singleFirst ? a : b;
            double[] pr = singleFirst ? b : a;
            s.add(sr);
            p.add(pr);
            System.out.printf("round %d: single wall %.2f s cpu %.2f s | pipelined wall %.2f s cpu %.2f s (reader thread %.2f s)%n",
                    r, sr[0], sr[1], pr[0], pr[1], pr[2]);
        }
        System.out.printf("median single:    wall %.2f s, cpu %.2f s (%.0f MiB/s plaintext)%n", median(s, 0), median(s, 1),
                m.plaintextBytes() / 1048576.0 / median(s, 0));
        System.out.printf("median pipelined: wall %.2f s, cpu %.2f s (%.0f MiB/s plaintext), reader thread cpu %.2f s%n",
                median(p, 0), median(p, 1), m.plaintextBytes() / 1048576.0 / median(p, 0), median(p, 2));
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
