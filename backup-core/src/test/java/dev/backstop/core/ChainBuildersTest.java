package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.internal.chain.DecodingChain;
import dev.backstop.core.internal.chain.EncodingChain;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChainBuildersTest {
    @TempDir
    Path dir;

    @Test
    void smallObject_encodedWithZstdAndAead_decodesVerified_onTheCallersThread() throws IOException {
        byte[] segment = TestSources.textLike(2 * 1024 * 1024, 16);
        Path file = Files.write(dir.resolve("000000010000000000000001"), segment);
        Sink sink = Repository.filesystem(dir.resolve("repo")).sink();
        AeadTransform dataKey = AeadTransform.withKey(new byte[32]);
        String key = "wal/1/000000010000000000000001";
        ObjectBinding binding = new ObjectBinding("wal/1", key);
        Executor noThreads = task -> {
            throw new AssertionError("no thread wanted for a small object");
        };

        EncodingChain chain = EncodingChain.builder().transforms(List.of(ZstdTransform.level(3), dataKey))
                .pipelining(false).executor(noThreads).build();
        StoredObject stored;
        try (EncodingChain.Encoder enc = chain.open(sink.create(key, ObjectKind.LOG), binding)) {
            Files.copy(file, enc.stream());
            stored = enc.commit().toStoredObject("segment", key);
        }
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        try (InputStream in = DecodingChain.builder().executor(noThreads).build()
                .open(sink, stored, Transform.Context.of(binding, () -> dataKey))) {
            in.transferTo(back);
        }

        assertThat(back.toByteArray()).isEqualTo(segment);
        assertThat(stored.transforms()).extracting(TransformSpec::id).containsExactly("zstd", "aead");
        assertThat(stored.storedSize()).isLessThan(segment.length);
    }

    @Test
    void encoder_closedWithoutCommit_leavesNoObject() throws IOException {
        Sink sink = Repository.filesystem(dir.resolve("repo")).sink();
        EncodingChain chain = EncodingChain.builder().transforms(List.of(ZstdTransform.level(1))).build();

        try (EncodingChain.Encoder enc = chain.open(sink.create("logs/a", ObjectKind.LOG), new ObjectBinding("logs", "logs/a"))) {
            enc.stream().write(new byte[1000]);
            enc.stream().close();
            assertThat(enc.result().plaintextSize()).isEqualTo(1000);
        }

        assertThat(sink.list("logs/")).isEmpty();
    }

    @Test
    void settingGivenTwice_isRefusedNamingTheSettingAndBothValues() {
        Clock a = Clock.fixed(Instant.parse("2026-12-07T00:00:00Z"), ZoneOffset.UTC);
        Clock b = Clock.fixed(Instant.parse("2026-12-08T00:00:00Z"), ZoneOffset.UTC);

        assertThatThrownBy(() -> BackupPipeline.builder().clock(a).clock(b))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("clock: already set to " + a + ", given again " + b);
        assertThatThrownBy(() -> BackupPipeline.builder().pipelining(true).pipelining(false))
                .isInstanceOf(IllegalStateException.class).hasMessage("pipelining: already set to true, given again false");
        assertThatThrownBy(() -> BackupPipeline.builder().label("env", "prod").label("env", "test"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("env").hasMessageContaining("prod");
        assertThatThrownBy(() -> Restore.builder().pipeliningFrom(DataSize.ofMiB(1)).pipeliningFrom(DataSize.ofMiB(2)))
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("pipeliningFrom: already set to");
        assertThatThrownBy(() -> Restore.builder().clock(a).clock(b))
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("clock:");
        assertThatThrownBy(() -> EncodingChain.builder().pipelining(false).pipelining(true))
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("pipelining:");
        assertThatThrownBy(() -> DecodingChain.builder().registry(TransformRegistry.builtIns())
                .registry(TransformRegistry.builtIns())).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("registry:");
    }

    @Test
    void settingGivenTwice_neverShowsKeyMaterial() {
        AeadTransform key = AeadTransform.withKey(new byte[] {
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32});

        assertThatThrownBy(() -> EncodingChain.builder().transforms(List.of(key)).transforms(List.of(key)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("aead(AES256_GCM_HKDF_1MB)")
                .hasMessageNotContaining("0102");
    }
}
