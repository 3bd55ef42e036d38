package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The chain rebuild against a model: a file changed backup after backup (pages rewritten, the
 * file extended or cut), each backup holding what an increment holds (the whole file when it is
 * new or shrank, else the changed pages and every page past the parent's size); reading the
 * backups newest first into a {@link PageAssembly} yields the file as it was at the newest, and
 * the CRC-32C it reports, computed as the pages arrive, is that file's.
 */
class PageAssemblyTest {

    /** One backup of the file: whole, or some pages. */
    record Held(int filePages, boolean whole, int[] pages, byte[][] contents) {
    }

    @Property(tries = 60)
    void newestFirst_rebuildsTheFileAsTheNewestBackupSawIt_andReportsItsCrc(@ForAll @IntRange(min = 1, max = 6) int backups,
            @ForAll long seed) throws IOException {
        Random r = new Random(seed);
        List<byte[]> state = new ArrayList<>();
        List<Held> chain = new ArrayList<>();
        int size = r.nextInt(300);
        for (int i = 0; i < size; i++) {
            state.add(page(0, i, r));
        }
        chain.add(new Held(size, true, null, state.toArray(new byte[0][])));
        for (int k = 1; k < backups; k++) {
            int parentSize = state.size();
            int newSize = Math.max(0, parentSize + r.nextInt(80) - (k == backups - 1 ? 0 : 40));
            while (state.size() > newSize) {
                state.remove(state.size() - 1);
            }
            TreeSet<Integer> changed = new TreeSet<>();
            for (int i = 0; i < newSize; i++) {
                if (i >= parentSize || r.nextInt(5) == 0) {
                    changed.add(i);
                    byte[] p = page(k, i, r);
                    if (i < state.size()) {
                        state.set(i, p);
                    } else {
                        state.add(p);
                    }
                }
            }
            boolean whole = newSize < parentSize;
            int[] pages = changed.stream().mapToInt(Integer::intValue).toArray();
            byte[][] contents = whole ? state.toArray(new byte[0][]) : Arrays.stream(pages).mapToObj(state::get).toArray(byte[][]::new);
            chain.add(new Held(newSize, whole, whole ? null : pages, contents));
        }
        Held newest = chain.get(chain.size() - 1);
        if (newest.whole()) {
            return; // restored as a plain file, not assembled
        }
        Path dir = Files.createTempDirectory("backstop-assembly");
        try (PageAssembly a = new PageAssembly(dir)) {
            String path = "base/5/16384";
            a.begin(path);
            feedPages(a, path, newest);
            a.expect(path, (long) newest.filePages() * PAGE);
            for (int k = chain.size() - 2; k >= 0 && a.anyPending(); k--) {
                Held h = chain.get(k);
                if (a.pending(path) && h.whole()) {
                    ByteArrayOutputStream all = new ByteArrayOutputStream();
                    for (byte[] p : h.contents()) {
                        all.write(p);
                    }
                    a.whole(path, (long) h.filePages() * PAGE, new ByteArrayInputStream(all.toByteArray()), "t");
                } else if (a.pending(path)) {
                    feedPages(a, path, h);
                }
            }
            assertThat(a.anyPending()).as("every page found").isFalse();
            byte[] got = Files.readAllBytes(dir.resolve(path));
            ByteArrayOutputStream want = new ByteArrayOutputStream();
            for (byte[] p : state) {
                want.write(p);
            }
            assertThat(got.length).isEqualTo(state.size() * PAGE);
            assertThat(Arrays.equals(got, want.toByteArray())).as("rebuilt bytes equal the newest state").isTrue();
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(want.toByteArray());
            assertThat(a.crc(path)).as("size and CRC-32C of the rebuilt file")
                    .containsExactly((long) state.size() * PAGE, crc.getValue());
        } finally {
            PointInTimeRecovery.deleteQuietly(dir);
        }
    }

    @Test
    void expect_ofAPageMissingFromEveryBackup_leavesItPendingAndNamesIt() throws IOException {
        Path dir = Files.createTempDirectory("backstop-assembly");
        try (PageAssembly a = new PageAssembly(dir)) {
            a.begin("base/5/1");
            Held h = new Held(3, false, new int[] {0, 2}, new byte[][] {page(1, 0, new Random(1)), page(1, 2, new Random(2))});
            feedPages(a, "base/5/1", h);
            a.expect("base/5/1", 3L * PAGE);
            assertThat(a.pending("base/5/1")).isTrue();
            assertThat(a.missing()).containsEntry("base/5/1", 1);
        } finally {
            PointInTimeRecovery.deleteQuietly(dir);
        }
    }

    @Test
    void expect_ofASizeNotAWholeNumberOfPages_isRefused() throws IOException {
        Path dir = Files.createTempDirectory("backstop-assembly");
        try (PageAssembly a = new PageAssembly(dir)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.expect("base/5/1", PAGE + 1))
                    .isInstanceOf(IOException.class).hasMessageContaining("base/5/1");
        } finally {
            PointInTimeRecovery.deleteQuietly(dir);
        }
    }

    /** Feeds {@code h}'s pages as page-map entries of at most a window each, as an increment's tar holds them. */
    private static void feedPages(PageAssembly a, String path, Held h) throws IOException {
        int[] pages = h.pages();
        for (int from = 0; from < pages.length; ) {
            int window = pages[from] / PageMap.WINDOW_PAGES;
            int to = from;
            while (to < pages.length && pages[to] / PageMap.WINDOW_PAGES == window) {
                to++;
            }
            int[] part = Arrays.copyOfRange(pages, from, to);
            byte[] header = new byte[PageMap.headerBytes(part.length)];
            PageMap.writeHeader(header, h.filePages(), part, part.length);
            ByteArrayOutputStream entry = new ByteArrayOutputStream();
            entry.write(header);
            for (int i = from; i < to; i++) {
                entry.write(h.contents()[i]);
            }
            ByteArrayInputStream in = new ByteArrayInputStream(entry.toByteArray());
            a.pages(path, PageMap.read(in, "t"), in, "t");
            from = to;
        }
    }

    private static byte[] page(int backup, int number, Random r) {
        byte[] p = new byte[PAGE];
        ByteBuffer.wrap(p).putInt(backup).putInt(number).putLong(r.nextLong());
        return p;
    }
}
