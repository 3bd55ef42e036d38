package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;
import static dev.backstop.postgres.physical.PageMap.WINDOW_PAGES;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;

/**
 * Writes a relation file that arrives as a stream (an entry of pg_basebackup's tar) into an
 * increment as {@link PageMap} entries, window by window, with the rule and format of {@link
 * PageCopier}: the pages {@link PageFilter#kept} selects. Unlike a read of the data directory, a
 * page cannot be read twice here to catch it changing; the server did that instead: with data
 * checksums on, BASE_BACKUP verifies every page whose LSN is older than the backup's start and
 * reads it again when the checksum fails, so a page left out (older than the parent's start, so
 * older than this backup's) arrived whole. That is why increments through {@link
 * BaseBackupSource} need data checksums (see docs/postgres-physical.md).
 *
 * <p>Memory: two buffers of one window. Not thread-safe.
 */
final class StreamPageCopier {
    private final byte[] window = new byte[WINDOW_PAGES * PAGE];
    private final byte[] entry = new byte[PageMap.headerBytes(WINDOW_PAGES) + WINDOW_PAGES * PAGE];
    private final int[] numbers = new int[WINDOW_PAGES];
    private final boolean[] keep = new boolean[WINDOW_PAGES];
    private final long threshold;
    private long pagesRead;
    private long pagesCopied;

    /** Copies pages whose LSN is at or after {@code threshold}, the parent's start LSN. */
    StreamPageCopier(long threshold) {
        this.threshold = threshold;
    }

    /**
     * Reads the {@code size} bytes (a whole number of pages) of the file {@code path} from {@code
     * in} and writes its page maps into {@code tar}; the parent holds {@code parentPages} pages of
     * it. Fails naming the file if the stream ends early.
     */
    void copy(LiveTar tar, String path, InputStream in, long size, long parentPages, Instant modified) throws IOException {
        int filePages = (int) (size / PAGE);
        String name = PageMap.entryName(path);
        for (int start = 0; start < filePages; start += WINDOW_PAGES) {
            int n = Math.min(WINDOW_PAGES, filePages - start);
            int got = in.readNBytes(window, 0, n * PAGE);
            if (got != n * PAGE) {
                throw new IOException("tar entry " + path + " of " + size + " bytes ended after "
                        + ((long) start * PAGE + got) + " bytes");
            }
            int count = 0;
            for (int i = 0; i < n; i++) {
                keep[i] = PageFilter.kept(window, i * PAGE, start + i, parentPages, threshold);
                count += keep[i] ? 1 : 0;
            }
            pagesRead += n;
            int length = PageMap.writeEntry(entry, filePages, start, window, keep, n, numbers);
            if (length > 0) {
                tar.entry(name, entry, length, modified);
                pagesCopied += count;
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
