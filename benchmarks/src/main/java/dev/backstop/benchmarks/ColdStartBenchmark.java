package dev.backstop.benchmarks;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.nio.file.Files;
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
 * What a short backup pays: the first 256 MiB through the whole chain in a fresh JVM, no warm-up
 * iterations. MB/s = 268.4 / score (seconds). Compare with {@link StreamingCoreBenchmark}'s warm
 * figures to see what remains of the JIT cold start.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 0)
@Measurement(iterations = 1)
@Fork(value = 3, jvmArgsAppend = {"-Xmx1g"})
public class ColdStartBenchmark {
    static final int SIZE = 256 << 20;

    @Param({"MIXED"})
    public Payload payload;

    @Param({"true", "false"})
    public boolean encrypt;

    byte[] data;
    BackupPipeline pipeline;

    @Setup
    public void setUp() throws IOException {
        // in blocks: generating 256 MiB of text at once needs several copies of it in the heap
        data = new byte[SIZE];
        int block = 16 << 20;
        for (int off = 0; off < SIZE; off += block) {
            System.arraycopy(payload.generate(block, 7 + off / block), 0, data, off, block);
        }
        BackupPipeline.Builder b = BackupPipeline.builder()
                .source(new StreamingCoreBenchmark.ArraySource(data))
                .repository(Repository.on(new DiscardingSink()))
                .compress(ZstdTransform.level(3));
        if (encrypt) {
            b.encrypt(Encryption.with(LocalKeysetKek.create(Files.createTempDirectory("cold").resolve("kek.json"))));
        } else {
            b.noEncryption();
        }
        pipeline = b.build();
    }

    @Benchmark
    public long first256MiB() {
        return pipeline.run().storedBytes();
    }
}
