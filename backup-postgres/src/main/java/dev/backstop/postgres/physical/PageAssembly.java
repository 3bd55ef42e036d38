package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Rebuilds the relation files of a chain restore page by page, newest backup first: each page is
 * written once, by the newest backup that holds it, and later (older) offers of it are skipped.
 * While the newest backup is read the files' sizes are not known yet (its {@code
 * backup_manifest} comes last), so every page is taken; {@link #expect} then fixes each file's
 * size, after which a file is pending until every page below its size is written.
 *
 * <p>Pages arrive in ascending order within a backup, so consecutive pages that are all still
 * missing are written with one positional write, not one per page: the oldest backup usually
 * gives most of a file in long runs. The CRC-32C that {@link #crc} reports is computed in file
 * order as the file fills: a page written from the buffer in hand is added from memory; a page
 * that an earlier (newer) backup wrote is read back from the file when the running CRC reaches
 * it, and whatever the running CRC has not reached when the file is complete is read back at the
 * end. So each byte is added once, and only pages that were not in hand when the CRC passed them
 * are read from disk, as the plain restore computes its CRCs as it writes.
 *
 * <p>Memory: one bit per page of the files being rebuilt, a running CRC per file, two buffers of
 * {@link #RUN_PAGES} pages. Not thread-safe.
 */
final class PageAssembly implements AutoCloseable {
    /** Pages taken from a stream, written and checksummed together: 1 MiB, a page map's window. */
    static final int RUN_PAGES = PageMap.WINDOW_PAGES;

    private final Path root;
    private final Map<String, Rebuilt> files = new HashMap<>();
    private final byte[] batch = new byte[RUN_PAGES * PAGE];
    private final int[] numbers = new int[RUN_PAGES];
    private final boolean[] written = new boolean[RUN_PAGES];
    private final ByteBuffer readBack = ByteBuffer.allocate(RUN_PAGES * PAGE);
    private String openPath;
    private FileChannel open;

    /** One file being rebuilt: which pages are written, its size once known, and the CRC of its first pages. */
    private static final class Rebuilt {
        final BitSet filled = new BitSet();
        int filledCount;
        /** The size in pages from the newest backup_manifest, -1 until {@link #expect}. */
        int size = -1;
        final CRC32C crc = new CRC32C();
        /** Pages [0, crcPages) are in {@link #crc}. */
        int crcPages;

        boolean pending() {
            return size < 0 || filledCount < size;
        }

        boolean wanted(int page) {
            return !filled.get(page) && (size < 0 || page < size);
        }
    }

    PageAssembly(Path root) {
        this.root = root;
    }

    /** Whether the file {@code path} is being rebuilt and still misses pages (always true before {@link #expect}). */
    boolean pending(String path) {
        Rebuilt r = files.get(path);
        return r != null && r.pending();
    }

    /** Whether any file still misses pages. */
    boolean anyPending() {
        for (Rebuilt r : files.values()) {
            if (r.pending()) {
                return true;
            }
        }
        return false;
    }

    /** The files that still miss pages, sorted, each with the number missing. */
    Map<String, Integer> missing() {
        Map<String, Integer> out = new TreeMap<>();
        files.forEach((p, r) -> {
            if (r.pending()) {
                out.put(p, r.size - r.filledCount);
            }
        });
        return out;
    }

    /** The files being rebuilt. */
    Set<String> paths() {
        return Collections.unmodifiableSet(files.keySet());
    }

    /**
     * Takes the pages of one page-map entry of {@code path} from {@code in} (positioned after the
     * header); a page already written, or at or past the file's size, is read and dropped.
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

    /** Starts rebuilding {@code path} in the newest backup: it is pending from now on. */
    void begin(String path) {
        files.computeIfAbsent(path, p -> new Rebuilt());
    }

    /**
     * Fixes the size of {@code path}: {@code bytes}, a whole number of pages, as the newest
     * backup_manifest lists it. Creates the file if the newest backup held none of its pages.
     */
    void expect(String path, long bytes) throws IOException {
        if (bytes % PAGE != 0) {
            throw new IOException(path + " has " + bytes + " bytes in backup_manifest, not a whole number of pages, "
                    + "but the backup holds only some of its pages");
        }
        int n = (int) (bytes / PAGE);
        Rebuilt r = files.computeIfAbsent(path, p -> new Rebuilt());
        r.filled.clear(n, Math.max(n, r.filled.length()));
        r.filledCount = r.filled.cardinality();
        r.size = n;
        FileChannel ch = channel(path);
        ch.truncate(bytes);
        if (ch.size() < bytes) {
            // sparse until the older backups fill it
            ch.write(ByteBuffer.wrap(new byte[1]), bytes - 1);
        }
    }

    /**
     * The size and CRC-32C of the rebuilt file: the running CRC, completed from disk for what it
     * has not reached.
     */
    long[] crc(String path) throws IOException {
        Rebuilt r = files.get(path);
        FileChannel ch = channel(path);
        long length = ch.size();
        long at = (long) r.crcPages * PAGE;
        if (length < at) {
            return new long[] {length, r.crc.getValue()}; // cut by someone else: the size check fails
        }
        while (at < length) {
            int n = ch.read(readBack.clear(), at);
            if (n <= 0) {
                break;
            }
            r.crc.update(readBack.array(), 0, n);
            at += n;
        }
        r.crcPages = r.size;
        closeOpen();
        return new long[] {at, r.crc.getValue()};
    }

    /**
     * Writes the wanted ones of the {@code count} pages in {@link #batch} (numbers in {@link
     * #numbers}, ascending), consecutive ones with one write, then moves the running CRC on.
     */
    private void place(String path, int count) throws IOException {
        Rebuilt r = files.get(path);
        if (r == null) {
            return;
        }
        FileChannel ch = null;
        int i = 0;
        while (i < count) {
            int first = numbers[i];
            if (!r.wanted(first)) {
                written[i++] = false;
                continue;
            }
            int j = i + 1;
            while (j < count && numbers[j] == first + (j - i) && r.wanted(numbers[j])) {
                j++;
            }
            if (ch == null) {
                ch = channel(path);
            }
            ByteBuffer src = ByteBuffer.wrap(batch, i * PAGE, (j - i) * PAGE);
            long at = (long) first * PAGE;
            while (src.hasRemaining()) {
                at += ch.write(src, at);
            }
            r.filled.set(first, first + (j - i));
            r.filledCount += j - i;
            for (int k = i; k < j; k++) {
                written[k] = true;
            }
            i = j;
        }
        if (r.size >= 0) {
            advanceCrc(path, r, count);
        }
    }

    /**
     * Adds to the running CRC every page from where it stands while the pages are written: from
     * {@link #batch} for a page this batch wrote, from disk for one written before.
     */
    private void advanceCrc(String path, Rebuilt r, int count) throws IOException {
        int k = 0;
        while (r.crcPages < r.size && r.filled.get(r.crcPages)) {
            int p = r.crcPages;
            while (k < count && numbers[k] < p) {
                k++;
            }
            if (k < count && numbers[k] == p && written[k]) {
                int e = k + 1;
                while (e < count && numbers[e] == p + (e - k) && written[e] && numbers[e] < r.size) {
                    e++;
                }
                r.crc.update(batch, k * PAGE, (e - k) * PAGE);
                r.crcPages += e - k;
                k = e;
            } else {
                // written by a newer backup: read it back, up to the next page in hand or not yet written
                int next = r.size;
                for (int m = k; m < count; m++) {
                    if (written[m]) {
                        next = Math.min(next, numbers[m]);
                        break;
                    }
                }
                int end = p + 1;
                while (end < next && end - p < RUN_PAGES && r.filled.get(end)) {
                    end++;
                }
                FileChannel ch = channel(path);
                int length = (end - p) * PAGE;
                readBack.clear().limit(length);
                long at = (long) p * PAGE;
                while (readBack.hasRemaining()) {
                    if (ch.read(readBack, at + readBack.position()) < 0) {
                        throw new IOException("file " + path + " ends before page " + end + " that was written to it");
                    }
                }
                r.crc.update(readBack.array(), 0, length);
                r.crcPages = end;
            }
        }
    }

    private void readPages(InputStream in, int count, String entry) throws IOException {
        int length = count * PAGE;
        if (in.readNBytes(batch, 0, length) != length) {
            throw new IOException("tar entry " + entry + " ends inside a page");
        }
    }

    private FileChannel channel(String path) throws IOException {
        if (!path.equals(openPath)) {
            closeOpen();
            Path file = root.resolve(path).normalize();
            if (!file.startsWith(root)) {
                throw new IOException("file " + path + " lies outside the data directory; refusing it");
            }
            Files.createDirectories(file.getParent());
            open = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
            openPath = path;
        }
        return open;
    }

    private void closeOpen() throws IOException {
        if (open != null) {
            FileChannel ch = open;
            open = null;
            openPath = null;
            ch.close();
        }
    }

    @Override
    public void close() throws IOException {
        closeOpen();
    }
}
