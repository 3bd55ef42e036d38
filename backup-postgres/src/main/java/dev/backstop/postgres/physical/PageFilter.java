package dev.backstop.postgres.physical;

import java.util.regex.Pattern;

/**
 * Which relation pages an increment copies. A page is copied when its LSN ({@code pd_lsn}, the
 * first 8 bytes of the page header) is at or after the increment's threshold, the parent
 * backup's start LSN, or when its LSN is zero (a page that was extended but never written through
 * WAL, all zeros: an older backup may hold other contents at that position). Only the main fork
 * of a relation is filtered page by page: its free space map is not WAL-logged and clearing a
 * visibility map bit does not advance the map page's LSN, so those forks, like every other file,
 * are copied whole (they are about 1/4000 and 1/32000 of their relation). See
 * docs/postgres-physical.md for why the rule is sound.
 */
final class PageFilter {
    /** PostgreSQL's BLCKSZ; a cluster built with another block size is refused before the backup starts. */
    static final int PAGE = 8192;
    /** A main-fork segment: relfilenode, optional segment number; no fork suffix. */
    private static final Pattern MAIN_FORK = Pattern.compile("\\d+(\\.\\d+)?");
    private static final Pattern DATABASE_DIR = Pattern.compile("base/\\d+|global|pg_tblspc/\\d+/[^/]+/\\d+");

    private PageFilter() {
    }

    /** Whether the file at {@code path} (relative to the data directory) is a relation's main fork. */
    static boolean paged(String path) {
        int slash = path.lastIndexOf('/');
        return slash > 0 && MAIN_FORK.matcher(path.substring(slash + 1)).matches()
                && DATABASE_DIR.matcher(path.substring(0, slash)).matches();
    }

    /** The page LSN at {@code offset}: two 32-bit halves (high, then low) in the platform's little-endian order. */
    static long lsn(byte[] page, int offset) {
        long high = littleEndianInt(page, offset);
        long low = littleEndianInt(page, offset + 4);
        return high << 32 | low;
    }

    /** Whether a page with {@code lsn} is copied by an increment whose threshold is {@code threshold}. */
    static boolean copied(long lsn, long threshold) {
        return lsn == 0 || Long.compareUnsigned(lsn, threshold) >= 0;
    }

    /**
     * Whether page {@code number} of a relation file, read at {@code offset} of {@code window},
     * goes into an increment whose parent held {@code parentPages} pages of the file: every page
     * past the parent's size, and the pages {@link #copied} selects. One rule for every source of
     * an increment, so that all of them build chains a restore can mix.
     */
    static boolean kept(byte[] window, int offset, long number, long parentPages, long threshold) {
        return number >= parentPages || copied(lsn(window, offset), threshold);
    }

    private static long littleEndianInt(byte[] b, int off) {
        return (b[off] & 0xFFL) | (b[off + 1] & 0xFFL) << 8 | (b[off + 2] & 0xFFL) << 16 | (b[off + 3] & 0xFFL) << 24;
    }
}
