package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineRoundTripTest {
    @TempDir
    Path tmp;

    static CaptureSource bytes(byte[] data) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream out = streams.open("data")) {
                    out.write(data);
                }
                return CaptureResult.builder(SourceInfo.of("test", "1")).build();
            }
        };
    }

    @Test
    void backupThenRestore_returnsTheSameBytes_throughZstdAndAead() {
        byte[] data = new byte[3_000_000];
        new Random(42).nextBytes(data);
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = BackupPipeline.builder().source(bytes(data)).repository(repo)
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        long n = restore.copyTo(restore.manifest(m.id()), "data", out);

        assertThat(n).isEqualTo(data.length);
        assertThat(out.toByteArray()).isEqualTo(data);
        assertThat(m.objects().get(0).plaintextSha256()).isEqualTo(Digest.sha256(data));
        assertThat(restore.verify(m).passed()).isTrue();
        assertThat(restore.verifyStored(m).passed()).isTrue();
    }
}
