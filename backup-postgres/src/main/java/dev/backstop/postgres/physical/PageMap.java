package dev.backstop.postgres.physical;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * The page map of one piece of an increment's relation file: a tar entry named {@code
 * <dir>/INCREMENTAL.<file>} holding a header (magic {@code BSI1}, the file's size in pages when
 * it was read, the number of pages n, n ascending page numbers, all big-endian 32-bit) and then
 * the n pages of 8 KiB. A file is written as one such entry per window of at most {@link
 * #WINDOW_PAGES} pages that has a copied page, so memory stays one window; a file with no copied
 * page has no entry at all and its pages all come from older backups of the chain.
 */
final class PageMap {
    /** Pages read, filtered and written together: 1 MiB. */
    static final int WINDOW_PAGES = 128;
    static final int MAGIC = 0x42534931; // "BSI1"
    private static final String PREFIX = "INCREMENTAL.";

    private final int filePages;
    private final int[] pages;

    PageMap(int filePages, int[] pages) {
        for (int i = 0; i < pages.length; i++) {
            if (pages[i] < 0 || i > 0 && pages[i] <= pages[i - 1]) {
                throw new IllegalArgumentException("page numbers must be ascending and non-negative: got " + pages[i]
                        + (i > 0 ? " after " + pages[i - 1] : "") + " at index " + i);
            }
        }
        this.filePages = filePages;
        this.pages = pages;
    }

    /** The file's size in pages when the increment read it. */
    int filePages() {
        return filePages;
    }

    /** The copied pages' numbers, ascending; the caller must not change the array. */
    int[] pages() {
        return pages;
    }

    /** Bytes of the header. */
    static int headerBytes(int count) {
        return 12 + 4 * count;
    }

    /** Writes the header for the first {@code count} numbers of {@code pages} into {@code out} at 0; returns its length. */
    static int writeHeader(byte[] out, int filePages, int[] pages, int count) {
        ByteBuffer b = ByteBuffer.wrap(out);
        b.putInt(MAGIC).putInt(filePages).putInt(count);
        for (int i = 0; i < count; i++) {
            b.putInt(pages[i]);
        }
        return b.position();
    }

    /**
     * Writes one page-map entry into {@code out}: the header, then those of the first {@code n}
     * pages of {@code window} (pages {@code first}, {@code first + 1}, ...) whose {@code keep} flag
     * is set; {@code numbers} is scratch of at least {@code n}. Returns the entry's length, or 0
     * if no page is kept (then there is no entry to write).
     */
    static int writeEntry(byte[] out, int filePages, int first, byte[] window, boolean[] keep, int n, int[] numbers) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (keep[i]) {
                numbers[count++] = first + i;
            }
        }
        if (count == 0) {
            return 0;
        }
        int at = writeHeader(out, filePages, numbers, count);
        for (int i = 0; i < n; i++) {
            if (keep[i]) {
                System.arraycopy(window, i * PageFilter.PAGE, out, at, PageFilter.PAGE);
                at += PageFilter.PAGE;
            }
        }
        return at;
    }

    /** Reads a header from {@code in}, which is then at the first page; {@code entry} names it in errors. */
    static PageMap read(InputStream in, String entry) throws IOException {
        DataInputStream d = new DataInputStream(in);
        int magic = d.readInt();
        if (magic != MAGIC) {
            throw new IOException("tar entry " + entry + " is not a page map: magic " + Integer.toHexString(magic)
                    + ", expected " + Integer.toHexString(MAGIC));
        }
        int filePages = d.readInt();
        int n = d.readInt();
        if (n < 0 || n > WINDOW_PAGES) {
            throw new IOException("tar entry " + entry + " lists " + n + " pages, at most " + WINDOW_PAGES + " allowed");
        }
        int[] pages = new int[n];
        for (int i = 0; i < n; i++) {
            pages[i] = d.readInt();
        }
        try {
            return new PageMap(filePages, pages);
        } catch (IllegalArgumentException e) {
            throw new IOException("tar entry " + entry + ": " + e.getMessage(), e);
        }
    }

    /** The entry name for a page map of the file {@code path}. */
    static String entryName(String path) {
        int slash = path.lastIndexOf('/');
        return path.substring(0, slash + 1) + PREFIX + path.substring(slash + 1);
    }

    /** The file a page-map entry belongs to, or null if {@code entry} is not a page map's name. */
    static String pathOf(String entry) {
        int slash = entry.lastIndexOf('/');
        String name = entry.substring(slash + 1);
        if (!name.startsWith(PREFIX) || name.length() == PREFIX.length()) {
            return null;
        }
        return entry.substring(0, slash + 1) + name.substring(PREFIX.length());
    }
}
