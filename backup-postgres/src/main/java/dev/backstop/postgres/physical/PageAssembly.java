package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * Rebuilds the relation files of a chain restore page by page from the backups of a chain, each
 * read by a {@link Reader} of its rank (0 = newest). Every page ends up as the newest backup that
 * holds it wrote it, whatever order the backups are read in: a reader writes a page only if no
 * newer backup's copy is in the file yet, and a newer reader overwrites an older one's. So the
 * older backups may be read at the same time, each on its own thread.
 *
 * <p>The newest backup is read first and alone: while it is read the files' sizes are not known
 * yet (its {@code backup_manifest} comes last), so every page is taken; {@link #expect} then fixes
 * each file's size. A file is final once every page below its size is written and every reader
 * that could still overwrite one of its pages (a newer one than the backup whose copy is there)
 * has {@link #finishedReading finished}; its CRC-32C is then put together from those of its
 * pages, taken as each page was written ({@link PageCrcs}), and handed to the {@link Finished}
 * callback, on the thread that made it final: the reader that wrote its last page, at its next
 * {@link Reader#finishCompleted}, or the reader whose {@link #finishedReading} released it.
 * After that no reader writes to it.
 *
 * <p>Pages arrive in ascending order within a backup, so consecutive pages a reader writes go
 * with one positional write, not one per page.
 *
 * <p>Memory: five bytes per page of the files being rebuilt (which backup's copy is there, and
 * its CRC-32C) and, per reader, two buffers of {@link #RUN_PAGES} pages. Thread-safe: readers of
 * different ranks may run at once; each {@link Reader} is used by one thread.
 */
final class PageAssembly {
    /** Pages taken from a stream, written and checksummed together: 1 MiB, a page map's window. */
    static final int RUN_PAGES = PageMap.WINDOW_PAGES;
    /** Backups an assembly can tell apart: a page records its writer's rank in a byte. */
    static final int MAX_BACKUPS = 255;

    /** Told of each file once it is final; must be thread-safe. */
    interface Finished {
        /** The file {@code path} is complete, {@code size} bytes with CRC-32C {@code crc}. */
        void finished(String path, long size, long crc) throws IOException;
    }

    private final Path root;
    private final Finished finished;
    private final Map<String, Rebuilt> files = new ConcurrentHashMap<>();
    /** Ranks of the readers that finished; guarded by itself. */
    private final BitSet done = new BitSet();

    /** One file being rebuilt: whose copy each page is, its size once known; guarded by itself. */
    private static final class Rebuilt {
        /** Per page, 1 + the rank of the backup whose copy is written; 0 for none yet. */
        byte[] owner = new byte[0];
        /** Per page, the CRC-32C of the copy written. */
        int[] crcs = new int[0];
        int filledCount;
        /** The size in pages from the newest backup_manifest, -1 until {@link #expect}. */
        int size = -1;
        /** The largest owner mark of any page. */
        int oldestMark;
        boolean isFinal;

        boolean pending() {
            return size < 0 || filledCount < size;
        }

        boolean wanted(int page, int mark) {
            if (size >= 0 && page >= size) {
                return false;
            }
            int o = page < owner.length ? owner[page] & 0xff : 0;
            return o == 0 || o > mark;
        }

        void take(int first, int count, int mark) {
            if (first + count > owner.length) {
                owner = Arrays.copyOf(owner, Math.max(first + count, owner.length * 2));
                crcs = Arrays.copyOf(crcs, owner.length);
            }
            for (int p = first; p < first + count; p++) {
                if (owner[p] == 0) {
                    filledCount++;
                }
                owner[p] = (byte) mark;
            }
            oldestMark = Math.max(oldestMark, mark);
        }
    }

    PageAssembly(Path root, Finished finished) {
        this.root = root;
        this.finished = finished;
    }

    /** A reader for the backup of {@code rank} in the chain, 0 being the newest; for one thread. */
    Reader reader(int rank) {
        if (rank < 0 || rank >= MAX_BACKUPS) {
            throw new IllegalArgumentException("rank must be in [0, " + MAX_BACKUPS + "), got " + rank);
        }
        return new Reader(rank);
    }

    /** Starts rebuilding {@code path} in the newest backup: it is pending from now on. */
    void begin(String path) {
        files.computeIfAbsent(path, p -> new Rebuilt());
    }

    /** Whether {@code path} is being rebuilt and not final yet, so a reader may still have to give pages of it. */
    boolean rebuilding(String path) {
        Rebuilt r = files.get(path);
        if (r == null) {
            return false;
        }
        synchronized (r) {
            return !r.isFinal;
        }
    }

    /** Whether the backup of {@code rank} could still give a page: one missing, or one an older backup wrote. */
    boolean wantedBy(int rank) {
        int mark = rank + 1;
        for (Rebuilt r : files.values()) {
            synchronized (r) {
                if (r.isFinal) {
                    continue;
                }
                if (r.size < 0 || r.filledCount < r.size) {
                    return true;
                }
                for (int p = 0; p < r.size; p++) {
                    if ((r.owner[p] & 0xff) > mark) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /** Whether any file still misses pages. */
    boolean anyPending() {
        return !missing().isEmpty();
    }

    /** The files that still miss pages, sorted, each with the number missing. */
    Map<String, Integer> missing() {
        Map<String, Integer> out = new TreeMap<>();
        files.forEach((p, r) -> {
            synchronized (r) {
                if (r.pending()) {
                    out.put(p, r.size - r.filledCount);
                }
            }
        });
        return out;
    }

    /** The files being rebuilt. */
    Set<String> paths() {
        return Collections.unmodifiableSet(files.keySet());
    }

    /**
     * Fixes the size of {@code path}: {@code bytes}, a whole number of pages, as the newest
     * backup_manifest lists it. Creates the file if the newest backup held none of its pages.
     * Called between the newest backup's reading and {@link #finishedReading}{@code (0)}.
     */
    void expect(String path, long bytes) throws IOException {
        if (bytes % PAGE != 0) {
            throw new IOException(path + " has " + bytes + " bytes in backup_manifest, not a whole number of pages, "
                    + "but the backup holds only some of its pages");
        }
        int n = (int) (bytes / PAGE);
        Rebuilt r = files.computeIfAbsent(path, p -> new Rebuilt());
        synchronized (r) {
            r.owner = Arrays.copyOf(r.owner, n);
            r.crcs = Arrays.copyOf(r.crcs, n);
            int count = 0;
            int oldest = 0;
            for (byte o : r.owner) {
                if (o != 0) {
                    count++;
                    oldest = Math.max(oldest, o & 0xff);
                }
            }
            r.filledCount = count;
            r.oldestMark = oldest;
            r.size = n;
        }
        // sparse until the older backups fill it
        try (RandomAccessFile f = new RandomAccessFile(file(path).toFile(), "rw")) {
            f.setLength(bytes);
        }
    }

    /**
     * The backup of {@code rank} is read to its end (or not read at all, as no longer needed):
     * every file it was the last one that could change becomes final, on this thread.
     */
    void finishedReading(int rank) throws IOException {
        synchronized (done) {
            done.set(rank);
        }
        for (Map.Entry<String, Rebuilt> e : files.entrySet()) {
            finishIfFinal(e.getKey(), e.getValue());
        }
    }

    private boolean doneBelow(int mark) {
        synchronized (done) {
            return done.nextClearBit(0) >= mark - 1;
        }
    }

    private void finishIfFinal(String path, Rebuilt r) throws IOException {
        int size;
        int crc;
        synchronized (r) {
            if (r.isFinal || r.pending() || !doneBelow(r.oldestMark)) {
                return;
            }
            r.isFinal = true;
            size = r.size;
            crc = PageCrcs.of(r.crcs, size);
        }
        long at = Files.size(file(path));
        if (at != (long) size * PAGE) {
            throw new IOException("file " + path + " has " + at + " bytes after it was rebuilt, not the " + (long) size * PAGE
                    + " its backup_manifest lists");
        }
        finished.finished(path, at, Integer.toUnsignedLong(crc));
    }

    /** The file of {@code path} under the root, its directories created. */
    private Path file(String path) throws IOException {
        Path file = root.resolve(path).normalize();
        if (!file.startsWith(root)) {
            throw new IOException("file " + path + " lies outside the data directory; refusing it");
        }
        Files.createDirectories(file.getParent());
        return file;
    }

    private FileChannel openFile(String path) throws IOException {
        return FileChannel.open(file(path), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }

    /** Places the pages of one backup; used by one thread. */
    final class Reader implements AutoCloseable {
        private final int mark;
        private final byte[] batch = new byte[RUN_PAGES * PAGE];
        private final int[] numbers = new int[RUN_PAGES];
        private final CRC32C pageCrc = new CRC32C();
        /** Files whose every page this reader's last entries wrote or found written: candidates to finish. */
        private final List<String> completed = new ArrayList<>();
        private String openPath;
        private FileChannel open;

        private Reader(int rank) {
            this.mark = rank + 1;
        }

        /**
         * Takes the pages of one page-map entry of {@code path} from {@code in} (positioned after
         * the header); a page a newer backup wrote, or at or past the file's size, is read and dropped.
         */
        void pages(String path, PageMap map, InputStream in, String entry) throws IOException {
            int[] pages = map.pages();
            for (int from = 0; from < pages.length; from += RUN_PAGES) {
                int count = Math.min(RUN_PAGES, pages.length - from);
                System.arraycopy(pages, from, numbers, 0, count);
                readPages(in, count, entry);
                place(path, count);
            }
        }

        /** Takes the whole pages of {@code size} bytes of a full copy of {@code path} from {@code in}. */
        void whole(String path, long size, InputStream in, String entry) throws IOException {
            long pages = size / PAGE;
            for (long start = 0; start < pages; start += RUN_PAGES) {
                int count = (int) Math.min(RUN_PAGES, pages - start);
                for (int i = 0; i < count; i++) {
                    numbers[i] = (int) (start + i);
                }
                readPages(in, count, entry);
                place(path, count);
            }
        }

        /**
         * Writes the wanted ones of the {@code count} pages in {@link #batch} (numbers in {@link
         * #numbers}, ascending), consecutive ones with one write; the file's lock is held from the
         * check to the write, so a newer reader's copy is never overwritten by an older one.
         */
        private void place(String path, int count) throws IOException {
            Rebuilt r = files.get(path);
            if (r == null) {
                return;
            }
            synchronized (r) {
                if (r.isFinal) {
                    return;
                }
                int i = 0;
                while (i < count) {
                    int first = numbers[i];
                    if (!r.wanted(first, mark)) {
                        i++;
                        continue;
                    }
                    int j = i + 1;
                    while (j < count && numbers[j] == first + (j - i) && r.wanted(numbers[j], mark)) {
                        j++;
                    }
                    FileChannel ch = channel(path);
                    ByteBuffer src = ByteBuffer.wrap(batch, i * PAGE, (j - i) * PAGE);
                    long at = (long) first * PAGE;
                    while (src.hasRemaining()) {
                        at += ch.write(src, at);
                    }
                    r.take(first, j - i, mark);
                    for (int k = i; k < j; k++) {
                        pageCrc.reset();
                        pageCrc.update(batch, k * PAGE, PAGE);
                        r.crcs[first + k - i] = (int) pageCrc.getValue();
                    }
                    i = j;
                }
                if (!r.pending() && (completed.isEmpty() || !completed.get(completed.size() - 1).equals(path))) {
                    completed.add(path);
                }
            }
        }

        /**
         * Makes final the files this reader completed since the last call, if no newer reader can
         * still overwrite one of their pages (else {@link #finishedReading} does, later). Kept out
         * of the per-page path and called once per tar entry: inlined into the page loop, the
         * finishing code (CRC, file checks, the callback) made its compiled code ten times larger
         * and cost seconds of the JIT compiler's CPU.
         */
        void finishCompleted() throws IOException {
            for (String path : completed) {
                finishIfFinal(path, files.get(path));
            }
            completed.clear();
        }

        private void readPages(InputStream in, int count, String entry) throws IOException {
            int length = count * PAGE;
            if (in.readNBytes(batch, 0, length) != length) {
                throw new IOException("tar entry " + entry + " ends inside a page");
            }
        }

        private FileChannel channel(String path) throws IOException {
            if (!path.equals(openPath)) {
                close();
                open = openFile(path);
                openPath = path;
            }
            return open;
        }

        @Override
        public void close() throws IOException {
            if (open != null) {
                FileChannel ch = open;
                open = null;
                openPath = null;
                ch.close();
            }
        }
    }
}
