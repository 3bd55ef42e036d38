package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory is bounded by buffers, not by backup size: 4 GiB through SHA-256, zstd, AEAD, SHA-256
 * into the filesystem repository and back, in a JVM started with -Xmx128m (see the pom).
 */
class LargeStreamIT {
    static final long SIZE = 4L << 30;

    @TempDir
    Path tmp;

    @Test
    void fourGiB_backupAndRestore_runInA128MiBHeap() throws IOException {
        assertThat(Runtime.getRuntime().maxMemory()).as("this test must run with -Xmx128m").isLessThanOrEqualTo(128L << 20);
        MessageDigest expected = Digest.newSha256();
        CaptureSource generator = new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                byte[][] blocks = new byte[8][];
                for (int i = 0; i < blocks.length; i++) {
                    blocks[i] = TestSources.textLike(1 << 20, i);
                }
                Random r = new Random(4);
                try (OutputStream out = streams.open("big")) {
                    for (long written = 0; written < SIZE; written += 1 << 20) {
                        byte[] b = blocks[r.nextInt(blocks.length)];
                        // a few fresh bytes per block, so no two MiB are identical
                        for (int k = 0; k < 64; k++) {
                            b[r.nextInt(b.length)] = (byte) ('a' + r.nextInt(26));
                        }
                        expected.update(b);
                        out.write(b);
                    }
                }
                return CaptureResult.builder(SourceInfo.of("generator", "1")).build();
            }
        };
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        LocalKeysetKek kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = BackupPipeline.builder().source(generator).repository(repo)
                .compress(ZstdTransform.builder().level(3).workers(2).build())
                .encrypt(Encryption.with(kek)).build().run();

        assertThat(m.plaintextBytes()).isEqualTo(SIZE);
        assertThat(m.objects().get(0).plaintextSha256()).isEqualTo(Digest.of(expected.digest()));
        assertThat(Files.size(((dev.backstop.core.fs.FileSystemSink) repo.sink()).pathOf(m.objects().get(0).key())))
                .isEqualTo(m.storedBytes());

        ValidationResult full = Restore.builder().repository(repo).keys(kek).build().verify(m);
        assertThat(full.findings()).isEmpty();

        long peak = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP)
                .mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        assertThat(peak).as("peak heap").isLessThan(128L << 20);
    }
}
