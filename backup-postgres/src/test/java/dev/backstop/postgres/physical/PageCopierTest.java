package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PageCopierTest {
    static final long THRESHOLD = 0x3_0000_0000L;
    static final Instant T = Instant.parse("2026-12-01T00:00:00Z");

    @TempDir
    Path tmp;

    /** Page i of a file: LSN {@code lsn} (0 = an all-zero page). */
    static byte[] page(long lsn, int i) {
        if (lsn == 0) {
            return new byte[PAGE];
        }
        byte[] p = PageFilterTest.pageWithLsn(lsn);
        p[PAGE - 1] = (byte) i;
        return p;
    }

    record Written(List<PageMap> maps, List<String> names, String manifest) {
    }

    Written copy(long[] lsns, long parentPages) throws IOException {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        for (int i = 0; i < lsns.length; i++) {
            file.write(page(lsns[i], i));
        }
        Path f = tmp.resolve("16384");
        Files.write(f, file.toByteArray());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ManifestWriter manifest = new ManifestWriter();
        LiveTar tar = new LiveTar(out, manifest, 64 * 1024);
        new PageCopier(THRESHOLD).copy(tar, manifest, "base/5/16384", f, (long) lsns.length * PAGE, parentPages, T);
        tar.finish();
        List<PageMap> maps = new ArrayList<>();
        List<String> names = new ArrayList<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                names.add(e.getName());
                PageMap m = PageMap.read(in, e.getName());
                maps.add(m);
                assertThat(e.getSize()).isEqualTo(PageMap.headerBytes(m.pages().length) + (long) m.pages().length * PAGE);
            }
        }
        return new Written(maps, names, new String(manifest.finish(1, 0, 0), StandardCharsets.UTF_8));
    }

    @Test
    void copy_takesPagesAtOrAfterTheThresholdZeroPagesAndPagesPastTheParent_andListsTheWholeFile() throws IOException {
        long[] lsns = {THRESHOLD - 1, THRESHOLD, 0, 5, THRESHOLD + 7, 9, 9};
        Written w = copy(lsns, 6);
        assertThat(w.names()).containsOnly("base/5/INCREMENTAL.16384");
        assertThat(w.maps()).singleElement().satisfies(m -> {
            assertThat(m.pages()).containsExactly(1, 2, 4, 6);
            assertThat(m.filePages()).isEqualTo(7);
        });
        CRC32C crc = new CRC32C();
        for (int i = 0; i < lsns.length; i++) {
            crc.update(page(lsns[i], i));
        }
        assertThat(w.manifest()).contains("\"Path\": \"base/5/16384\", \"Size\": " + 7 * PAGE)
                .contains("\"Checksum\": \"" + ManifestWriter.crcHex(crc.getValue()) + "\"");
    }

    @Test
    void copy_ofAFileWithNothingChanged_writesNoEntryButListsIt() throws IOException {
        Written w = copy(new long[] {1, 2, 3}, 3);
        assertThat(w.names()).isEmpty();
        assertThat(w.manifest()).contains("\"Path\": \"base/5/16384\", \"Size\": " + 3 * PAGE);
    }

    @Test
    void copy_ofMoreThanAWindow_writesOneEntryPerWindowWithACopiedPage() throws IOException {
        long[] lsns = new long[PageMap.WINDOW_PAGES * 2 + 1];
        java.util.Arrays.fill(lsns, 1);
        lsns[3] = THRESHOLD;
        lsns[PageMap.WINDOW_PAGES * 2] = THRESHOLD;
        Written w = copy(lsns, lsns.length);
        assertThat(w.maps()).hasSize(2);
        assertThat(w.maps().get(0).pages()).containsExactly(3);
        assertThat(w.maps().get(1).pages()).containsExactly(PageMap.WINDOW_PAGES * 2);
    }

    /** The copied pages' bytes of every entry, in order, and the copier that wrote them. */
    record Copied(List<byte[]> pages, PageCopier copier) {
    }

    Copied copyFile(long[] lsns, long parentPages, boolean writtenLongAgo, String fileSystem) throws IOException {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        for (int i = 0; i < lsns.length; i++) {
            file.write(page(lsns[i], i));
        }
        Path f = tmp.resolve("16385");
        Files.write(f, file.toByteArray());
        if (writtenLongAgo) {
            Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(3600).plusNanos(1234)));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ManifestWriter manifest = new ManifestWriter();
        LiveTar tar = new LiveTar(out, manifest, 64 * 1024);
        PageCopier copier = new PageCopier(THRESHOLD, fileSystem);
        copier.copy(tar, manifest, "base/5/16385", f, (long) lsns.length * PAGE, parentPages, T);
        tar.finish();
        List<byte[]> pages = new ArrayList<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                PageMap m = PageMap.read(in, e.getName());
                for (int n : m.pages()) {
                    byte[] p = in.readNBytes(PAGE);
                    assertThat(p).as("page %d of %s", n, e.getName()).isEqualTo(page(lsns[n], n));
                    pages.add(p);
                }
            }
        }
        return new Copied(pages, copier);
    }

    /** Two windows and a bit: runs of copied pages, single ones, pages left out between them. */
    static long[] mixedLsns() {
        long[] lsns = new long[2 * PageMap.WINDOW_PAGES + 7];
        for (int i = 0; i < lsns.length; i++) {
            lsns[i] = i % 11 < 4 || i % 29 == 0 ? THRESHOLD + i : 5 + i;
        }
        return lsns;
    }

    @Test
    void copy_ofAFileWrittenLongAgoOnALocalFileSystem_readsItOnceAndCopiesTheSamePages() throws IOException {
        long[] lsns = mixedLsns();
        Copied once = copyFile(lsns, lsns.length - 3, true, "ext4");
        Copied twice = copyFile(lsns, lsns.length - 3, false, "ext4");
        assertThat(once.copier().windowsReread()).isZero();
        assertThat(twice.copier().windowsReread()).as("a file written just now is read twice").isEqualTo(3);
        assertThat(once.pages()).hasSameSizeAs(twice.pages());
        for (int i = 0; i < once.pages().size(); i++) {
            assertThat(once.pages().get(i)).isEqualTo(twice.pages().get(i));
        }
        assertThat(once.copier().pagesCopied()).isEqualTo(twice.copier().pagesCopied()).isEqualTo(once.pages().size());
    }

    @Test
    void copy_onANetworkFileSystem_alwaysReadsTwice() throws IOException {
        long[] lsns = mixedLsns();
        assertThat(copyFile(lsns, lsns.length, true, "nfs").copier().windowsReread()).isEqualTo(3);
    }
}
