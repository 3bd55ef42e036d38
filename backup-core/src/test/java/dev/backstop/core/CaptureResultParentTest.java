package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaptureResultParentTest {
    @TempDir
    Path tmp;

    @Test
    void run_ofASourceReportingAParent_recordsItInTheManifest() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest first = BackupPipeline.builder().source(source(null)).repository(repo).noEncryption().build().run();
        Manifest child = BackupPipeline.builder().source(source(first.id())).repository(repo).noEncryption().build().run();

        assertThat(first.parent()).isEmpty();
        assertThat(child.parent()).contains(first.id());
        assertThat(repo.catalog().get(child.id()).orElseThrow().parent()).as("as stored").contains(first.id());
    }

    @Test
    void parent_givenTwice_isRefused_andToBuilderKeepsIt() {
        BackupId id = BackupId.parse("20261201T000000Z-physical-abcdef");
        CaptureResult r = CaptureResult.builder(SourceInfo.of("test", "1")).parent(id).build();
        assertThat(r.toBuilder().build().parent()).contains(id);
        assertThatThrownBy(() -> CaptureResult.builder(SourceInfo.of("test", "1")).parent(id).parent(id))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("parent");
    }

    private static CaptureSource source(BackupId parent) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.PHYSICAL;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream o = streams.open("data")) {
                    o.write(new byte[] {1, 2, 3});
                }
                CaptureResult.Builder b = CaptureResult.builder(SourceInfo.of("test", "1"));
                if (parent != null) {
                    b.parent(parent);
                }
                return b.build();
            }
        };
    }
}
