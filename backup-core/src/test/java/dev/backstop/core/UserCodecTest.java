package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A user's codec is written, resolved and checked exactly like zstd and AEAD. */
class UserCodecTest {
    @TempDir
    Path dir;
    private Repository repo;
    private KeyEncryptionKey kek;
    private final byte[] data = TestSources.textLike(3 * 1024 * 1024 + 17, 7);

    @BeforeEach
    void setUp() throws IOException {
        repo = Repository.filesystem(dir.resolve("repo"));
        kek = LocalKeysetKek.create(dir.resolve("kek.json"));
    }

    private Manifest backUpWithXor() {
        return BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo).random(new Random(1))
                .compress(ZstdTransform.level(3)).transform(new XorTransform(0x5a)).encrypt(Encryption.with(kek))
                .build().run();
    }

    @Test
    void restore_withUserCodec_decodesLikeBuiltIns() {
        Manifest m = backUpWithXor();
        Restore restore = Restore.builder().repository(repo).keys(kek).decoder(XorTransform.ID, XorTransform.FACTORY).build();

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        restore.copyTo(restore.manifest(m.id()), "data", out);

        assertThat(out.toByteArray()).isEqualTo(data);
        assertThat(m.objects().get(0).transforms()).extracting(TransformSpec::id).containsExactly("zstd", "xor", "aead");
        assertThat(restore.verify(m, Restore.Recording.NONE).findings()).isEmpty();
    }

    @Test
    void restore_withoutTheUserCodec_namesTheObjectAndTheTransformId() {
        Manifest m = backUpWithXor();
        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        String key = m.objects().get(0).key();

        assertThatThrownBy(() -> restore.copyTo(m, "data", new ByteArrayOutputStream()))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.stage()).isEqualTo(Stage.TRANSFORM))
                .hasMessageContaining(key).hasMessageContaining("'xor'");
        assertThat(restore.verify(m, Restore.Recording.NONE).findings()).singleElement().asString()
                .contains(key).contains("'xor'");
    }

    @Test
    void decoder_registeredTwice_isRefusedNamingTheId() {
        Restore.Builder b = Restore.builder().decoder(XorTransform.ID, XorTransform.FACTORY);

        assertThatThrownBy(() -> b.decoder(XorTransform.ID, XorTransform.FACTORY))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("'xor'").hasMessageContaining("twice");
    }

    @Test
    void decoder_forABuiltInId_isRefusedPointingToTheExplicitReplacement() {
        assertThatThrownBy(() -> Restore.builder().decoder("zstd", (spec, context) -> ZstdTransform.fromSpec(spec)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("'zstd'").hasMessageContaining("replaceBuiltIn");
    }

    @Test
    void replaceDecoder_ofABuiltIn_isWhatTheRestoreResolves() {
        Manifest m = backUpWithXor();
        AtomicInteger zstdResolved = new AtomicInteger();
        Restore restore = Restore.builder().repository(repo).keys(kek).decoder(XorTransform.ID, XorTransform.FACTORY)
                .replaceDecoder("zstd", (spec, context) -> {
                    zstdResolved.incrementAndGet();
                    return ZstdTransform.fromSpec(spec);
                }).build();

        restore.copyTo(m, "data", new ByteArrayOutputStream());

        assertThat(zstdResolved).hasValue(1);
        assertThatThrownBy(() -> Restore.builder().replaceDecoder("xor", XorTransform.FACTORY))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not a built-in");
    }

    @Test
    void userCodec_asTheCompressionStage_isBackedUpAndRestored() {
        Manifest m = BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo)
                .compress(new XorTransform(3)).noEncryption().build().run();
        Restore restore = Restore.builder().repository(repo).decoder(XorTransform.ID, XorTransform.FACTORY).build();

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        restore.copyTo(m, "data", out);

        assertThat(out.toByteArray()).isEqualTo(data);
    }

    @Test
    void build_withTwoCompressionsOrEncryptionAddedDirectly_isRefusedByWhatTheRegistryKnows() {
        assertThatThrownBy(() -> BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo).noEncryption()
                .compress(ZstdTransform.level(1)).transform(ZstdTransform.level(2)).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("compression given 2 times");
        assertThatThrownBy(() -> BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo).noEncryption()
                .transform(dev.backstop.core.crypto.AeadTransform.withKey(new byte[32])).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("encrypt(Encryption)");
    }
}
