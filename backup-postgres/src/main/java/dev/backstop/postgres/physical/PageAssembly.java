package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.PageFilter.PAGE;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
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
 * <p>Memory: one bit per page of the files being rebuilt, one page buffer. Not thread-safe.
 */
final class PageAssembly implements AutoCloseable {
    private final Path root;
    private final Map<String, BitSet> filled = new HashMap<>();
    private final Map<String, Integer> sizes = new HashMap<>();
    private final byte[] page = new byte[PAGE];
    private String openPath;
    private FileChannel open;

    PageAssembly(Path root) {
        this.root = root;
    }

    /** Whether the file {@code path} is being rebuilt and still misses pages (always true before {@link #expect}). */
    boolean pending(String path) {
        BitSet b = filled.get(path);
        if (b == null) {
            return false;
        }
        Integer n = sizes.get(path);
        return n == null || b.cardinality() < n;
    }

    /** Whether any file still misses pages. */
    boolean anyPending() {
        for (String p : filled.keySet()) {
            if (pending(p)) {
                return true;
            }
        }
        return false;
    }

    /** The files that still miss pages, sorted, each with the number missing. */
    Map<String, Integer> missing() {
        Map<String, Integer> out = new TreeMap<>();
        for (String p : filled.keySet()) {
            if (pending(p)) {
                out.put(p, sizes.get(p) - filled.get(p).cardinality());
            }
        }
        return out;
    }

    /** The files being rebuilt. */
    Set<String> paths() {
        return Collections.unmodifiableSet(filled.keySet());
    }

    /**
     * Takes the pages of one page-map entry of {@code path} from {@code in} (positioned after the
     * header); a page already written, or at or past the file's size, is read and dropped.
     */
    void pages(String path, PageMap map, InputStream in, String entry) throws IOException {
        for (int number : map.pages()) {
            readPage(in, entry);
            offer(path, number);
        }
    }

    /** Takes the whole pages of {@code size} bytes of a full copy of {@code path} from {@code in}. */
    void whole(String path, long size, InputStream in, String entry) throws IOException {
        long pages = size / PAGE;
        for (long i = 0; i < pages; i++) {
            readPage(in, entry);
            offer(path, (int) i);
        }
    }

    /** Starts rebuilding {@code path} in the newest backup: it is pending from now on. */
    void begin(String path) {
        filled.computeIfAbsent(path, p -> new BitSet());
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
        BitSet b = filled.computeIfAbsent(path, p -> new BitSet());
        b.clear(n, Math.max(n, b.length()));
        sizes.put(path, n);
        channel(path).truncate(bytes);
        if (channel(path).size() < bytes) {
            // sparse until the older backups fill it
            channel(path).write(ByteBuffer.wrap(new byte[1]), bytes - 1);
        }
    }

    /** The size and CRC-32C of the rebuilt file, read back from disk. */
    long[] crc(String path) throws IOException {
        closeOpen();
        CRC32C crc = new CRC32C();
        long size = 0;
        try (FileChannel ch = FileChannel.open(root.resolve(path), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            int n;
            while ((n = ch.read(buf.clear())) > 0) {
                crc.update(buf.array(), 0, n);
                size += n;
            }
        }
        return new long[] {size, crc.getValue()};
    }

    private void offer(String path, int number) throws IOException {
        BitSet b = filled.get(path);
        Integer n = sizes.get(path);
        if (b == null || b.get(number) || n != null && number >= n) {
            return;
        }
        ByteBuffer src = ByteBuffer.wrap(page);
        FileChannel ch = channel(path);
        long at = (long) number * PAGE;
        while (src.hasRemaining()) {
            at += ch.write(src, at);
        }
        b.set(number);
    }

    private void readPage(InputStream in, String entry) throws IOException {
        if (in.readNBytes(page, 0, PAGE) != PAGE) {
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
