package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;
import static dev.backstop.postgres.physical.PageMap.WINDOW_PAGES;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
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
 * buffers of one window. Not thread-safe.
 */
final class PageCopier {
    private final byte[] first = new byte[WINDOW_PAGES * PAGE];
    private final byte[] second = new byte[WINDOW_PAGES * PAGE];
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
                boolean anyLeftOut = false;
                for (int i = 0; i < n; i++) {
                    copy[i] = start + i >= parentPages || PageFilter.copied(PageFilter.lsn(first, i * PAGE), threshold);
                    anyLeftOut |= !copy[i];
                }
                if (anyLeftOut) {
                    read(ch, second, (long) start * PAGE, n * PAGE);
                    for (int i = 0; i < n; i++) {
                        int off = i * PAGE;
                        if (!copy[i] && !Arrays.equals(first, off, off + PAGE, second, off, off + PAGE)) {
                            // changing under us: keep the later read, which replay overwrites anyway
                            System.arraycopy(second, off, first, off, PAGE);
                            copy[i] = true;
                        }
                    }
                }
                crc.update(first, 0, n * PAGE);
                int count = 0;
                for (int i = 0; i < n; i++) {
                    if (copy[i]) {
                        numbers[count++] = start + i;
                    }
                }
                pagesRead += n;
                if (count > 0) {
                    int at = PageMap.writeHeader(entry, filePages, numbers, count);
                    for (int i = 0; i < n; i++) {
                        if (copy[i]) {
                            System.arraycopy(first, i * PAGE, entry, at, PAGE);
                            at += PAGE;
                        }
                    }
                    tar.entry(name, entry, at, modified);
                    pagesCopied += count;
                }
            }
            manifest.add(path, size, modified, crc.getValue());
        }
        return true;
    }

    /** Reads {@code length} bytes at {@code position}; what the file no longer has (it shrank) reads as zeros. */
    private static void read(FileChannel ch, byte[] into, long position, int length) throws IOException {
        ByteBuffer view = ByteBuffer.wrap(into, 0, length);
        while (view.hasRemaining()) {
            int r = ch.read(view, position + view.position());
            if (r < 0) {
                Arrays.fill(into, view.position(), length, (byte) 0);
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
