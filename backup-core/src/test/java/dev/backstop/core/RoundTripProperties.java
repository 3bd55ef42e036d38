package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/** Whatever goes in comes back out, through every combination of the chain. */
class RoundTripProperties {
    static final int SEGMENT = 1 << 20;
    private static Path dir;
    private static KeyEncryptionKey kek;

    enum Chain { PLAIN, ZSTD, AEAD, ZSTD_AEAD, ZSTD_WORKERS_AEAD }

    @BeforeContainer
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("backstop-props");
        kek = LocalKeysetKek.create(dir.resolve("kek.json"));
    }

    @AfterContainer
    static void tearDown() throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Provide
    Arbitrary<Integer> sizes() {
        // boundaries: empty, one byte, the 128 KiB top buffer, the 256 KiB hand-off chunk and the
        // 1 MiB AEAD segment, each +-1, plus anything up to 3 segments
        return Arbitraries.oneOf(
                Arbitraries.of(0, 1, 2, 131071, 131072, 131073, 262143, 262144, 262145,
                        SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT - 1, 2 * SEGMENT + 1),
                Arbitraries.integers().between(0, 3 * SEGMENT));
    }

    @Property(tries = 40, seed = "20261121")
    void restore_returnsExactlyTheBytesBackedUp(@ForAll("sizes") int size, @ForAll Chain chain,
                                                @ForAll boolean pipelining, @ForAll long seed) throws IOException {
        byte[] data = new Random(seed).nextBoolean() ? TestSources.random(size, seed) : TestSources.textLike(size, seed);
        Repository repo = Repository.filesystem(Files.createTempDirectory(dir, "repo"));
        BackupPipeline.Builder b = BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo)
                .pipelining(pipelining).random(new Random(seed));
        switch (chain) {
            case ZSTD -> b.compress(ZstdTransform.level(1)).noEncryption();
            case AEAD -> b.encrypt(Encryption.with(kek));
            case ZSTD_AEAD -> b.compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek));
            case ZSTD_WORKERS_AEAD -> b.compress(ZstdTransform.builder().level(3).workers(2).build()).encrypt(Encryption.with(kek));
            default -> b.noEncryption();
        }
        Manifest m = b.build().run();

        Restore.Builder rb = Restore.builder().repository(repo).keys(kek);
        if (chain == Chain.PLAIN || chain == Chain.ZSTD) {
            rb.allowUnencrypted();
        }
        Restore restore = rb.build();
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        restore.copyTo(restore.manifest(m.id()), "data", out);

        assertThat(out.toByteArray()).isEqualTo(data);
        StoredObject o = m.objects().get(0);
        assertThat(o.plaintextSize()).isEqualTo(size);
        assertThat(o.plaintextSha256()).isEqualTo(Digest.sha256(data));
        assertThat(o.storedSha256()).isEqualTo(Digest.sha256(Files.readAllBytes(
                ((dev.backstop.core.fs.FileSystemSink) repo.sink()).pathOf(o.key()))));
        if (chain == Chain.PLAIN) {
            assertThat(o.storedSha256()).isEqualTo(o.plaintextSha256());
        }
    }
}
