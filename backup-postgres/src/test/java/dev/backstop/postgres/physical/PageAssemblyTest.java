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
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The chain rebuild against a model: a file changed backup after backup (pages rewritten, the
 * file extended or cut), each backup holding what an increment holds (the whole file when it is
 * new or shrank, else the changed pages and every page past the parent's size); reading the
 * newest backup first and the older ones after it, in any order or at once, into a {@link
 * PageAssembly} yields the file as it was at the newest, and the CRC-32C it reports once is that
 * file's.
 */
class PageAssemblyTest {

    /** One backup of the file: whole, or some pages. */
    record Held(int filePages, boolean whole, int[] pages, byte[][] contents) {
    }

    @Property(tries = 60)
    void olderBackupsInAnyOrder_rebuildTheFileAsTheNewestBackupSawIt_andReportItsCrcOnce(@ForAll @IntRange(min = 1, max = 6) int backups,
            @ForAll long seed) throws IOException {
        Random r = new Random(seed);
        List<byte[]> state = new ArrayList<>();
        List<Held> chain = chain(backups, r, state);
        Held newest = chain.get(chain.size() - 1);
        if (newest.whole()) {
            return; // restored as a plain file, not assembled
        }
        assertRebuilds(chain, state, r, false);
    }

    /**
     * The same model with the older backups read at once, each on a thread of its own, as the
     * chain restore reads them: whichever reaches a page first, the newest backup's copy stays.
     */
    @Property(tries = 40)
    void olderBackupsReadAtOnce_stillLeaveEachPageFromTheNewestBackupHoldingIt(
            @ForAll @IntRange(min = 2, max = 7) int backups, @ForAll long seed) throws Exception {
        Random r = new Random(seed);
        List<byte[]> state = new ArrayList<>();
        List<Held> chain = chain(backups, r, state);
        if (chain.get(chain.size() - 1).whole()) {
            return;
        }
        assertRebuilds(chain, state, r, true);
    }

    /**
     * Feeds {@code chain} (oldest first) to an assembly: the newest alone, then the older ones
     * interleaved window by window in a random order, or each on its own thread; checks the bytes
     * and the one size and CRC-32C reported.
     */
    private static void assertRebuilds(List<Held> chain, List<byte[]> state, Random r, boolean threads) throws IOException {
        Held newest = chain.get(chain.size() - 1);
        Path dir = Files.createTempDirectory("backstop-assembly");
        String path = "base/5/16384";
        Map<String, List<long[]>> reported = new ConcurrentHashMap<>();
        try {
            PageAssembly a = new PageAssembly(dir, (p, size, crc) ->
                    reported.computeIfAbsent(p, x -> new CopyOnWriteArrayList<>()).add(new long[] {size, crc}));
            a.begin(path);
            try (PageAssembly.Reader reader = a.reader(0)) {
                feedPages(reader, path, newest);
            }
            a.expect(path, (long) newest.filePages() * PAGE);
            a.finishedReading(0);
            int n = chain.size();
            if (threads) {
                List<Thread> started = new ArrayList<>();
                List<Throwable> failures = new CopyOnWriteArrayList<>();
                for (int rank = 1; rank < n; rank++) {
                    int k = rank;
                    Thread t = new Thread(() -> {
                        try {
                            if (a.wantedBy(k)) {
                                try (PageAssembly.Reader reader = a.reader(k)) {
                                    for (Step s : steps(reader, path, chain.get(n - 1 - k))) {
                                        if (a.rebuilding(path)) {
                                            s.run();
                                        }
                                    }
                                }
                            }
                            a.finishedReading(k);
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    });
                    t.start();
                    started.add(t);
                }
                for (Thread t : started) {
                    t.join();
                }
                assertThat(failures).isEmpty();
            } else {
                List<PageAssembly.Reader> readers = new ArrayList<>();
                List<java.util.Iterator<Step>> left = new ArrayList<>();
                List<Integer> ranks = new ArrayList<>();
                for (int k = 1; k < n; k++) {
                    PageAssembly.Reader reader = a.reader(k);
                    readers.add(reader);
                    left.add(steps(reader, path, chain.get(n - 1 - k)).iterator());
                    ranks.add(k);
                }
                while (!left.isEmpty()) {
                    int i = r.nextInt(left.size());
                    if (left.get(i).hasNext()) {
                        Step s = left.get(i).next();
                        if (a.rebuilding(path)) {
                            s.run();
                        }
                    } else {
                        readers.remove(i).close();
                        left.remove(i);
                        a.finishedReading(ranks.remove(i));
                    }
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
            assertThat(reported.get(path)).as("size and CRC-32C of the rebuilt file, reported once").hasSize(1);
            assertThat(reported.get(path).get(0)).containsExactly((long) state.size() * PAGE, crc.getValue());
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        } finally {
            PointInTimeRecovery.deleteQuietly(dir);
        }
    }

    /** A file changed backup after backup, oldest first; {@code state} ends as the newest saw it. */
    private static List<Held> chain(int backups, Random r, List<byte[]> state) {
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
        return chain;
    }

    /** One window of pages, or a whole file, fed by one reader. */
    private interface Step {
        void run() throws IOException;
    }

    /** The tar entries of {@code h}, each followed by {@code finishCompleted} as a chain restore calls it. */
    private static List<Step> steps(PageAssembly.Reader reader, String path, Held h) {
        List<Step> out = new ArrayList<>();
        for (Step s : entries(reader, path, h)) {
            out.add(() -> {
                s.run();
                reader.finishCompleted();
            });
        }
        return out;
    }

    private static List<Step> entries(PageAssembly.Reader reader, String path, Held h) {
        List<Step> out = new ArrayList<>();
        if (h.whole()) {
            out.add(() -> {
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                for (byte[] p : h.contents()) {
                    all.write(p);
                }
                reader.whole(path, (long) h.filePages() * PAGE, new ByteArrayInputStream(all.toByteArray()), "t");
            });
            return out;
        }
        int[] pages = h.pages();
        for (int from = 0; from < pages.length; ) {
            int window = pages[from] / PageMap.WINDOW_PAGES;
            int to = from;
            while (to < pages.length && pages[to] / PageMap.WINDOW_PAGES == window) {
                to++;
            }
            int f = from;
            int t = to;
            out.add(() -> feedWindow(reader, path, h, f, t));
            from = to;
        }
        return out;
    }

    @Test
    void expect_ofAPageMissingFromEveryBackup_leavesItPendingAndNamesIt() throws IOException {
        Path dir = Files.createTempDirectory("backstop-assembly");
        try {
            PageAssembly a = new PageAssembly(dir, (p, size, crc) -> {
                throw new AssertionError(p + " is not complete");
            });
            a.begin("base/5/1");
            Held h = new Held(3, false, new int[] {0, 2}, new byte[][] {page(1, 0, new Random(1)), page(1, 2, new Random(2))});
            try (PageAssembly.Reader reader = a.reader(0)) {
                feedPages(reader, "base/5/1", h);
            }
            a.expect("base/5/1", 3L * PAGE);
            a.finishedReading(0);
            assertThat(a.rebuilding("base/5/1")).isTrue();
            assertThat(a.missing()).containsEntry("base/5/1", 1);
        } finally {
            PointInTimeRecovery.deleteQuietly(dir);
        }
    }

    @Test
    void expect_ofASizeNotAWholeNumberOfPages_isRefused() throws IOException {
        Path dir = Files.createTempDirectory("backstop-assembly");
        try {
            PageAssembly a = new PageAssembly(dir, (p, size, crc) -> { });
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.expect("base/5/1", PAGE + 1))
                    .isInstanceOf(IOException.class).hasMessageContaining("base/5/1");
        } finally {
            PointInTimeRecovery.deleteQuietly(dir);
        }
    }

    /** Feeds {@code h}'s pages as page-map entries of at most a window each, as an increment's tar holds them. */
    private static void feedPages(PageAssembly.Reader a, String path, Held h) throws IOException {
        for (Step s : steps(a, path, h)) {
            s.run();
        }
    }

    private static void feedWindow(PageAssembly.Reader a, String path, Held h, int from, int to) throws IOException {
        int[] part = Arrays.copyOfRange(h.pages(), from, to);
        byte[] header = new byte[PageMap.headerBytes(part.length)];
        PageMap.writeHeader(header, h.filePages(), part, part.length);
        ByteArrayOutputStream entry = new ByteArrayOutputStream();
        entry.write(header);
        for (int i = from; i < to; i++) {
            entry.write(h.contents()[i]);
        }
        ByteArrayInputStream in = new ByteArrayInputStream(entry.toByteArray());
        a.pages(path, PageMap.read(in, "t"), in, "t");
    }

    private static byte[] page(int backup, int number, Random r) {
        byte[] p = new byte[PAGE];
        ByteBuffer.wrap(p).putInt(backup).putInt(number).putLong(r.nextLong());
        return p;
    }
}
