package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

class StreamPageCopierTest {
    static final long THRESHOLD = PageCopierTest.THRESHOLD;
    static final Instant T = Instant.parse("2026-12-01T00:00:00Z");

    static byte[] file(long[] lsns) {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        for (int i = 0; i < lsns.length; i++) {
            file.writeBytes(PageCopierTest.page(lsns[i], i));
        }
        return file.toByteArray();
    }

    static byte[] streamed(byte[] file, long parentPages) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        LiveTar tar = new LiveTar(out, new ManifestWriter(), 64 * 1024);
        new StreamPageCopier(THRESHOLD).copy(tar, "base/5/16384", new ByteArrayInputStream(file), file.length, parentPages, T);
        tar.finish();
        return out.toByteArray();
    }

    @Provide
    Arbitrary<long[]> lsns() {
        Arbitrary<Long> lsn = Arbitraries.oneOf(Arbitraries.just(0L), Arbitraries.longs().between(1, THRESHOLD - 1),
                Arbitraries.just(THRESHOLD), Arbitraries.longs().between(THRESHOLD + 1, THRESHOLD * 2));
        return lsn.array(long[].class).ofMinSize(0).ofMaxSize(PageMap.WINDOW_PAGES * 2 + 3);
    }

    /** One rule and one format for both sources: a chain may mix their increments. */
    @Property(tries = 60)
    void streamedPages_areTheEntriesADataDirectoryReadWritesOfTheSameFile(@ForAll("lsns") long[] lsns,
            @ForAll @IntRange(min = 0, max = 300) int parentPages) throws IOException {
        byte[] file = file(lsns);
        Path f = Files.createTempFile("backstop-pages-", "");
        try {
            Files.write(f, file);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ManifestWriter manifest = new ManifestWriter();
            LiveTar tar = new LiveTar(out, manifest, 64 * 1024);
            new PageCopier(THRESHOLD).copy(tar, manifest, "base/5/16384", f, file.length, Math.min(parentPages, lsns.length), T);
            tar.finish();

            assertThat(streamed(file, Math.min(parentPages, lsns.length))).isEqualTo(out.toByteArray());
        } finally {
            Files.delete(f);
        }
    }

    @Property(tries = 10)
    void aStreamEndingInsideTheFile_failsNamingIt(@ForAll @IntRange(min = 1, max = 3 * PAGE - 1) int cut) {
        byte[] file = file(new long[] {THRESHOLD, THRESHOLD, THRESHOLD});
        LiveTar tar = new LiveTar(new ByteArrayOutputStream(), new ManifestWriter(), 64 * 1024);

        assertThatThrownBy(() -> new StreamPageCopier(THRESHOLD).copy(tar, "base/5/16384",
                new ByteArrayInputStream(file, 0, file.length - cut), file.length, 3, T))
                .isInstanceOf(IOException.class).hasMessageContaining("base/5/16384").hasMessageContaining("ended after");
    }
}
