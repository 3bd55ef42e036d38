package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Restores of framed zstd objects: same bytes and failures as a single stream, no thread left. */
class FramedRestoreTest {
    static final ZstdTransform FRAMED = ZstdTransform.builder().level(3).workers(2).frameSize(DataSize.ofKiB(64)).build();
    @TempDir
    Path tmp;
    Repository repo;
    LocalKeysetKek kek;

    @BeforeEach
    void setUp() {
        repo = Repository.filesystem(tmp.resolve("repo"));
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
    }

    Manifest backup(byte[] payload, boolean encrypt) {
        BackupPipeline.Builder b = BackupPipeline.builder().source(TestSources.bytes(payload)).repository(repo).compress(FRAMED);
        if (encrypt) {
            b.encrypt(Encryption.with(kek));
        } else {
            b.noEncryption();
        }
        return b.build().run();
    }

    static List<String> zstdThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("backstop-zstd-")).toList();
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void framedBackup_restoresTheSameBytes_pipelinedOrNot(boolean pipelining) throws IOException {
        byte[] payload = PipelinedRestoreTest.mixed(3_000_007, 5);
        for (boolean encrypt : new boolean[] {true, false}) {
            Manifest m = backup(payload, encrypt);
            assertThat(m.object("data").orElseThrow().transforms().get(0).parameters()).containsEntry("frames", "65536");
            Restore r = Restore.builder().repository(repo).keys(kek).allowUnencrypted().pipelining(pipelining).pipeliningFrom(DataSize.ofBytes(0)).build();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (InputStream in = r.open(m, "data")) {
                in.transferTo(out);
            }
            assertThat(out.toByteArray()).as("encrypted=%s", encrypt).isEqualTo(payload);
            assertThat(r.verify(m).passed()).isTrue();
        }
        assertThat(zstdThreads()).isEmpty();
    }

    @Test
    void closingEarly_stopsTheZstdDecodeThreads() throws IOException {
        Manifest m = backup(PipelinedRestoreTest.mixed(6_000_000, 6), true);
        Restore r = Restore.builder().repository(repo).keys(kek).allowUnencrypted().pipeliningFrom(DataSize.ofBytes(0)).build();
        InputStream in = r.open(m, "data");
        assertThat(in.readNBytes(200_000)).hasSize(200_000);
        in.close();
        assertThat(zstdThreads()).isEmpty();
    }

    @Test
    void aFlippedByte_inAnUnencryptedFramedObject_isAnIntegrityFailure() throws IOException {
        Manifest m = backup(PipelinedRestoreTest.mixed(1_000_000, 7), false);
        Path stored = tmp.resolve("repo").resolve(m.object("data").orElseThrow().key());
        byte[] b = Files.readAllBytes(stored);
        b[b.length / 2] ^= 0x04;
        Files.write(stored, b);
        Restore r = Restore.builder().repository(repo).pipeliningFrom(DataSize.ofBytes(0)).build();
        assertThatThrownBy(() -> {
            try (InputStream in = r.open(m, "data")) {
                in.transferTo(OutputStream.nullOutputStream());
            }
        }).isInstanceOf(IntegrityException.class);
        assertThat(zstdThreads()).isEmpty();
    }

    @Test
    void aFramedObject_cutAtAFrameBoundary_isAnIntegrityFailure() throws IOException {
        Manifest m = backup(PipelinedRestoreTest.mixed(1_000_000, 8), false);
        Path stored = tmp.resolve("repo").resolve(m.object("data").orElseThrow().key());
        byte[] b = Files.readAllBytes(stored);
        Files.write(stored, Arrays.copyOf(b, b.length - 24)); // the end record
        Restore r = Restore.builder().repository(repo).pipeliningFrom(DataSize.ofBytes(0)).build();
        assertThatThrownBy(() -> {
            try (InputStream in = r.open(m, "data")) {
                in.transferTo(OutputStream.nullOutputStream());
            }
        }).isInstanceOf(IntegrityException.class);
    }
}
