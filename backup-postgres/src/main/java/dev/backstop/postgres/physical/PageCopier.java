package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;
import static dev.backstop.postgres.physical.PageMap.WINDOW_PAGES;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.zip.CRC32C;

/**
 * Writes a relation file into an increment as {@link PageMap} entries: window by window, the
 * pages {@link PageFilter} selects plus every page past the parent's size for the file. The
 * {@code backup_manifest} line it adds has the file's whole size and the CRC-32C of every page
 * as read, copied or not: a page left out is byte for byte the one an older backup of the chain
 * holds (see docs/postgres-physical.md), so the line describes the file the chain rebuilds.
 *
 * <p>A page left out is one read twice with the same bytes: a page being written while it is
 * read can show an old LSN in its first half and new contents in its second, and is copied then
 * (WAL replay from the increment's start rewrites it from a full-page image). Memory: three
 * buffers of one window, two of them outside the heap. Not thread-safe.
 */
final class PageCopier {
    /**
     * Reads go straight into memory outside the heap: a read into a heap array goes through the
     * JDK's own native buffer and is copied once more, on every byte of every relation file.
     */
    private final ByteBuffer first = ByteBuffer.allocateDirect(WINDOW_PAGES * PAGE).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer second = ByteBuffer.allocateDirect(WINDOW_PAGES * PAGE);
    private final byte[] entry = new byte[PageMap.headerBytes(WINDOW_PAGES) + WINDOW_PAGES * PAGE];
    private final int[] numbers = new int[WINDOW_PAGES];
    private final boolean[] copy = new boolean[WINDOW_PAGES];
    private final long threshold;
    private long pagesRead;
    private long pagesCopied;

    /** Copies pages whose LSN is at or after {@code threshold}, the parent's start LSN. */
    PageCopier(long threshold) {
        this.threshold = threshold;
    }

    /**
     * Writes {@code file} (relative name {@code path}, {@code size} bytes when listed, a whole
     * number of pages) into {@code tar}, of which the parent holds {@code parentPages} pages, and
     * lists it in {@code manifest}; returns false (and writes nothing) if the file is gone.
     */
    boolean copy(LiveTar tar, ManifestWriter manifest, String path, Path file, long size, long parentPages, Instant modified)
            throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException gone) {
            return false;
        }
        try (ch) {
            CRC32C crc = new CRC32C();
            int filePages = (int) (size / PAGE);
            String name = PageMap.entryName(path);
            for (int start = 0; start < filePages; start += WINDOW_PAGES) {
                int n = Math.min(WINDOW_PAGES, filePages - start);
                read(ch, first, (long) start * PAGE, n * PAGE);
                if (select(start, n, parentPages) < n) {
                    read(ch, second, (long) start * PAGE, n * PAGE);
                    recheck(n);
                }
                crc.update(first.position(0).limit(n * PAGE));
                pagesRead += n;
                int length = entry(filePages, start, n);
                if (length > 0) {
                    tar.entry(name, entry, length, modified);
                }
            }
            manifest.add(path, size, modified, crc.getValue());
        }
        return true;
    }

    /** Marks the pages of the window starting at page {@code start} that go in; returns how many. */
    private int select(int start, int n, long parentPages) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            int off = i * PAGE;
            // pd_lsn: two 32-bit halves, high then low, each in the platform's (little-endian) order
            long lsn = (long) first.getInt(off) << 32 | first.getInt(off + 4) & 0xFFFF_FFFFL;
            copy[i] = start + i >= parentPages || PageFilter.copied(lsn, threshold);
            count += copy[i] ? 1 : 0;
        }
        return count;
    }

    /**
     * Compares the two reads of the window, whole at first (they are equal but for a page being
     * written right now): a page left out that reads differently the second time is changing under
     * us, so it goes in, as the later read, which replay overwrites anyway.
     */
    private void recheck(int n) {
        int end = n * PAGE;
        int from = 0;
        while (from < end) {
            int differs = first.slice(from, end - from).mismatch(second.slice(from, end - from));
            if (differs < 0) {
                return;
            }
            int i = (from + differs) / PAGE;
            if (!copy[i]) {
                first.put(i * PAGE, second, i * PAGE, PAGE);
                copy[i] = true;
            }
            from = (i + 1) * PAGE;
        }
    }

    /** Writes the page-map entry of the window's selected pages into {@link #entry}; returns its length, 0 if none. */
    private int entry(int filePages, int start, int n) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (copy[i]) {
                numbers[count++] = start + i;
            }
        }
        if (count == 0) {
            return 0;
        }
        int at = PageMap.writeHeader(entry, filePages, numbers, count);
        for (int i = 0; i < n; i++) {
            if (copy[i]) {
                first.get(i * PAGE, entry, at, PAGE);
                at += PAGE;
            }
        }
        pagesCopied += count;
        return at;
    }

    /** Reads {@code length} bytes at {@code position}; what the file no longer has (it shrank) reads as zeros. */
    private static void read(FileChannel ch, ByteBuffer into, long position, int length) throws IOException {
        into.clear().limit(length);
        while (into.hasRemaining()) {
            int r = ch.read(into, position + into.position());
            if (r < 0) {
                while (into.hasRemaining()) {
                    into.put((byte) 0);
                }
                return;
            }
        }
    }

    long pagesRead() {
        return pagesRead;
    }

    long pagesCopied() {
        return pagesCopied;
    }
}
