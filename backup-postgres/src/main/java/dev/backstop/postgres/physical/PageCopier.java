package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;
import static dev.backstop.postgres.physical.PageMap.WINDOW_PAGES;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * Writes a relation file into an increment as {@link PageMap} entries: window by window, the
 * pages {@link PageFilter} selects plus every page past the parent's size for the file. The
 * {@code backup_manifest} line it adds has the file's whole size and the CRC-32C of every page
 * as read, copied or not: a page left out is byte for byte the one an older backup of the chain
 * holds (see docs/postgres-physical.md), so the line describes the file the chain rebuilds.
 *
 * <p>A page left out must not be one that was being written while it was read: a page being
 * written can show an old LSN in its first half and new contents in its second, and such a page
 * is copied (WAL replay from the increment's start rewrites it from a full-page image). A window
 * is read once, into a direct buffer whose page LSNs are read in place. It is read a second time,
 * and a page left out whose two reads differ is copied, unless the file shows it was not written
 * around the read: on a local file system ({@link #STABLE_MTIME}) whose modification time has
 * sub-second precision, a file whose modification time is the same after the window's read as
 * before it, and older than {@link #QUIET} before the read began, had no write during the read
 * (every write sets it, before its bytes land). A write that set it earlier yet lands its bytes
 * during the read would fool both checks alike; the restore's CRC-32C check then fails loudly.
 *
 * <p>Memory: two direct buffers and one heap buffer of one window. Not thread-safe.
 */
final class PageCopier {
    /**
     * File systems whose modification time every write updates at once on this host (not a
     * network file system's server-side or cached time).
     */
    static final Set<String> STABLE_MTIME = Set.of("ext4", "ext3", "xfs", "btrfs", "tmpfs", "zfs", "f2fs");
    /** How long before a read the last write must have been: ten times the kernel's coarse timestamp tick, at least. */
    static final long QUIET = TimeUnit.MILLISECONDS.toNanos(100);

    private final ByteBuffer first = ByteBuffer.allocateDirect(WINDOW_PAGES * PAGE).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer second = ByteBuffer.allocateDirect(WINDOW_PAGES * PAGE);
    private final byte[] entry = new byte[PageMap.headerBytes(WINDOW_PAGES) + WINDOW_PAGES * PAGE];
    private final int[] numbers = new int[WINDOW_PAGES];
    private final boolean[] copy = new boolean[WINDOW_PAGES];
    private final long threshold;
    private Boolean trustMtime;
    private long pagesRead;
    private long pagesCopied;
    private long windowsReread;

    /**
     * Copies pages whose LSN is at or after {@code threshold}, the parent's start LSN; whether
     * modification times may spare the second read is told by the file system of the first file.
     */
    PageCopier(long threshold) {
        this.threshold = threshold;
    }

    /** As {@link #PageCopier(long)}, on a file system of the given {@link java.nio.file.FileStore#type}. */
    PageCopier(long threshold, String fileSystemType) {
        this.threshold = threshold;
        this.trustMtime = STABLE_MTIME.contains(fileSystemType);
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
            if (trustMtime == null) {
                trustMtime = STABLE_MTIME.contains(Files.getFileStore(file).type());
            }
            CRC32C crc = new CRC32C();
            int filePages = (int) (size / PAGE);
            String name = PageMap.entryName(path);
            for (int start = 0; start < filePages; start += WINDOW_PAGES) {
                int n = Math.min(WINDOW_PAGES, filePages - start);
                // the wall clock, not an injected one: it is compared with the kernel's modification times
                long readStart = wallNanos();
                FileTime before = trustMtime ? lastModified(file) : null;
                read(ch, first, (long) start * PAGE, n * PAGE);
                boolean anyLeftOut = false;
                for (int i = 0; i < n; i++) {
                    long lsn = (first.getInt(i * PAGE) & 0xFFFFFFFFL) << 32 | first.getInt(i * PAGE + 4) & 0xFFFFFFFFL;
                    copy[i] = start + i >= parentPages || PageFilter.copied(lsn, threshold);
                    anyLeftOut |= !copy[i];
                }
                if (anyLeftOut && !quietDuringRead(file, before, readStart)) {
                    windowsReread++;
                    read(ch, second, (long) start * PAGE, n * PAGE);
                    for (int i = 0; i < n; i++) {
                        int off = i * PAGE;
                        if (!copy[i] && first.slice(off, PAGE).mismatch(second.slice(off, PAGE)) >= 0) {
                            // changing under us: keep the later read, which replay overwrites anyway
                            first.put(off, second, off, PAGE);
                            copy[i] = true;
                        }
                    }
                }
                crc.update(first.clear().limit(n * PAGE));
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
                            int run = 1;
                            while (i + run < n && copy[i + run]) {
                                run++;
                            }
                            first.get(i * PAGE, entry, at, run * PAGE);
                            at += run * PAGE;
                            i += run - 1;
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

    /**
     * Whether the file was surely not written during a read that began at {@code readStart}
     * (wall-clock nanoseconds): its modification time, taken {@code before} the read and again
     * now, did not move and lies {@link #QUIET} or more before the read.
     */
    private boolean quietDuringRead(Path file, FileTime before, long readStart) throws IOException {
        if (before == null) {
            return false;
        }
        FileTime after = lastModified(file);
        if (after == null || !after.equals(before)) {
            return false;
        }
        Instant m = after.toInstant();
        if (m.getNano() == 0) {
            return false; // whole seconds: a file system without fine timestamps, or a chance; read again
        }
        long mNanos = m.getEpochSecond() * 1_000_000_000L + m.getNano();
        return mNanos < readStart - QUIET;
    }

    private static FileTime lastModified(Path file) throws IOException {
        try {
            return Files.getLastModifiedTime(file);
        } catch (NoSuchFileException gone) {
            return null; // dropped while read: read twice, as for any doubt
        }
    }

    private static long wallNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** Reads {@code length} bytes at {@code position} into {@code into}; what the file no longer has (it shrank) reads as zeros. */
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

    /** Windows read a second time because the file's modification time could not vouch for the first read. */
    long windowsReread() {
        return windowsReread;
    }
}
