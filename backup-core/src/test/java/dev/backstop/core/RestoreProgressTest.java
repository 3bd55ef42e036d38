package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.transform.ZstdTransform;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Restore.Builder#progress}: the stored bytes read, adding up to what the manifest says. */
class RestoreProgressTest {
    @TempDir
    Path tmp;
    Repository repo;
    LocalKeysetKek kek;
    Manifest m;

    @BeforeEach
    void setUp() {
        repo = Repository.on(FileSystemSink.open(tmp.resolve("repo")));
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        m = BackupPipeline.builder().source(TestSources.bytes(PipelinedRestoreTest.mixed(3 << 20, 7))).repository(repo)
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();
    }

    @Test
    void restoreToAStream_reportsEveryStoredByte_summingToTheManifestsStoredSize() {
        AtomicLong read = new AtomicLong();
        StoredObject data = m.objects().get(0);
        Restore restore = Restore.builder().repository(repo).keys(kek).progress((id, object, bytes) -> {
            assertThat(id).isEqualTo(m.id());
            assertThat(object).isEqualTo(data);
            assertThat(bytes).isPositive();
            read.addAndGet(bytes);
        }).pipeliningFrom(DataSize.ofBytes(0)).build();

        long plain = restore.copyTo(m, data.name(), OutputStream.nullOutputStream());

        assertThat(plain).isEqualTo(3 << 20);
        assertThat(read.get()).isEqualTo(data.storedSize()).isEqualTo(m.storedBytes());
    }

    @Test
    void verifyAndKeylessCheck_reportTheirReadsToo() {
        AtomicLong read = new AtomicLong();
        Restore restore = Restore.builder().repository(repo).keys(kek).progress((id, object, bytes) -> read.addAndGet(bytes)).build();

        assertThat(restore.verify(m, Restore.Recording.NONE).passed()).isTrue();
        assertThat(read.get()).isEqualTo(m.storedBytes());
        assertThat(restore.verifyStored(m).passed()).isTrue();
        assertThat(read.get()).isEqualTo(2 * m.storedBytes());
    }

    @Test
    void aThrowingProgress_neverFailsTheRestore() throws Exception {
        Restore restore = Restore.builder().repository(repo).keys(kek).progress((id, object, bytes) -> {
            throw new IllegalStateException("display gone");
        }).build();

        try (InputStream in = restore.open(m, m.objects().get(0).name())) {
            assertThat(in.transferTo(OutputStream.nullOutputStream())).isEqualTo(3 << 20);
        }
    }

    @Test
    void progress_mayBeSetOnce() {
        Restore.Builder b = Restore.builder().progress((id, o, n) -> { });
        assertThatThrownBy(() -> b.progress((id, o, n) -> { })).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("progress: already set");
    }
}
