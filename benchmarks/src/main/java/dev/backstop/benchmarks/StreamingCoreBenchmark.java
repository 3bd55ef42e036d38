package dev.backstop.benchmarks;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.Digest;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Repository;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Throughput of the streaming core, one 64 MiB payload per operation: MB/s = ops/s x 64 x 1.048576.
 * Every variant runs on the same payload in the same JVM, so ratios between rows are fair.
 *
 * <ul>
 *   <li>{@code SHA256}, {@code ZSTD}, {@code ZSTD_W2}, {@code AEAD}: one stage alone ({@code ZSTD_W2}: zstd's
 *       native multithreading, one frame).
 *   <li>{@code ZSTD_FRAMED_W2}: {@code ZstdTransform} with workers=2, i.e. framed mode (independent 4 MiB
 *       frames on two threads).
 *   <li>{@code CHAIN_SERIAL}: the real pipeline (SHA-256 → zstd-3 → AEAD → SHA-256) on one thread.
 *   <li>{@code CHAIN}: the same with the default hand-off, so zstd and AEAD+hashing use two cores.
 *   <li>{@code CHAIN_W2}: the pipeline with zstd workers=2 (framed mode).
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 4, time = 4)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class StreamingCoreBenchmark {
    static final int SIZE = 64 << 20;

    public enum Variant { SHA256, ZSTD, ZSTD_W2, ZSTD_FRAMED_W2, AEAD, CHAIN_SERIAL, CHAIN, CHAIN_W2 }

    @Param({"SQL_DUMP", "MIXED", "RANDOM"})
    public Payload payload;

    @Param({"SHA256", "ZSTD", "ZSTD_W2", "ZSTD_FRAMED_W2", "AEAD", "CHAIN_SERIAL", "CHAIN", "CHAIN_W2"})
    public Variant variant;

    @Param({"3"})
    public int level;

    byte[] data;
    AeadTransform aead;
    BackupPipeline pipeline;

    @Setup
    public void setUp() throws IOException {
        data = payload.generate(SIZE, 42);
        aead = AeadTransform.withKey(new byte[32]);
        Path kekFile = Files.createTempDirectory("bench").resolve("kek.json");
        KeyEncryptionKey kek = LocalKeysetKek.create(kekFile);
        if (variant.name().startsWith("CHAIN")) {
            pipeline = BackupPipeline.builder()
                    .source(new ArraySource(data))
                    .repository(Repository.on(new DiscardingSink()))
                    .compress(ZstdTransform.builder().level(level).workers(variant == Variant.CHAIN_W2 ? 2 : 0).build())
                    .encrypt(Encryption.with(kek))
                    .pipelining(variant != Variant.CHAIN_SERIAL)
                    .build();
        }
    }

    @Benchmark
    public Object run() throws IOException {
        switch (variant) {
            case SHA256 -> {
                MessageDigest sha = Digest.newSha256();
                sha.update(data);
                return sha.digest();
            }
            case ZSTD, ZSTD_W2 -> {
                try (ZstdOutputStreamNoFinalizer z = new ZstdOutputStreamNoFinalizer(OutputStream.nullOutputStream(),
                        RecyclingBufferPool.INSTANCE)) {
                    z.setLevel(level);
                    if (variant == Variant.ZSTD_W2) {
                        z.setWorkers(2);
                    }
                    z.write(data);
                }
                return null;
            }
            case ZSTD_FRAMED_W2 -> {
                try (OutputStream out = ZstdTransform.builder().level(level).workers(2).build()
                        .encode(OutputStream.nullOutputStream(), new ObjectBinding("bench", "backups/bench/data"))) {
                    out.write(data);
                }
                return null;
            }
            case AEAD -> {
                try (OutputStream out = aead.encode(OutputStream.nullOutputStream(),
                        new ObjectBinding("bench", "backups/bench/data"))) {
                    out.write(data);
                }
                return null;
            }
            default -> {
                Manifest m = pipeline.run();
                return m.storedBytes();
            }
        }
    }

    /** Writes one in-memory payload in 128 KiB pieces, the way a process pump does. */
    static final class ArraySource implements CaptureSource {
        private final byte[] data;

        ArraySource(byte[] data) {
            this.data = data;
        }

        @Override
        public BackupType type() {
            return BackupType.RAW;
        }

        @Override
        public CaptureResult capture(Streams streams) throws IOException {
            try (OutputStream out = streams.open("data")) {
                for (int off = 0; off < data.length; off += 128 * 1024) {
                    out.write(data, off, Math.min(128 * 1024, data.length - off));
                }
            }
            return CaptureResult.builder(SourceInfo.of("bench", "1")).build();
        }
    }
}
