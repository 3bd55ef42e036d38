package dev.backstop.postgres.physical;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.Checksum;

/**
 * Writes the large files of a restore (see {@link #write}) with direct I/O ({@code O_DIRECT})
 * where the file system takes it: the bytes go from an aligned buffer to the disk, instead of
 * being copied into the page cache
 * and written back later by the fsync: on virtual machines the copy into fresh page-cache pages
 * is the costliest step of a restore. The price: the restored files are not in the page cache, so
 * a server started on them reads them from disk.
 *
 * <p>Direct writes must cover whole blocks of the file system's block size; a file's last,
 * partial block is written padded with zeros and the file is then cut to its length. Where
 * {@code O_DIRECT} is refused (tmpfs, some network file systems) the writer falls back to
 * ordinary writes for that file and every later one. Durability is still the caller's: direct
 * writes can sit in the disk's volatile cache until an fsync.
 *
 * <p>One writer per extraction, single-threaded; it owns a heap buffer of {@link #BUFFER_BYTES}
 * and, for direct I/O, an aligned native one of the same size, freed with the writer.
 */
final class DirectFileWriter {
    static final int BUFFER_BYTES = 1 << 20;

    private final byte[] buffer = new byte[BUFFER_BYTES];
    private final ByteBuffer aligned;
    private final int block;
    private boolean direct;

    /** A writer for files under {@code dir}; {@code tryDirect} false writes through the page cache only. */
    DirectFileWriter(Path dir, boolean tryDirect) {
        int b = 0;
        try {
            long size = Files.getFileStore(dir).getBlockSize();
            b = size > 0 && size <= 64 * 1024 && BUFFER_BYTES % size == 0 ? (int) size : 0;
        } catch (IOException | UnsupportedOperationException e) {
            // no block size known: no direct I/O
        }
        this.block = b;
        this.direct = tryDirect && b > 0;
        this.aligned = direct ? ByteBuffer.allocateDirect(BUFFER_BYTES + b).alignedSlice(b) : null;
    }

    /** Whether files of a buffer or more are written with direct I/O (false once the file system refused it). */
    boolean direct() {
        return direct;
    }

    /**
     * Creates {@code target} (which must not exist) holding the rest of {@code in}, adding every
     * byte to {@code checksum}. Does not close {@code in} and does not fsync. A file expected to be
     * smaller than one buffer ({@code expectedSize}, the tar header's size) is written through the
     * page cache: a direct write of a few KiB would wait for the disk on the extracting thread,
     * while the fsync thread absorbs a buffered one's write-back, and small files are a small share
     * of a cluster's bytes.
     *
     * @return the number of bytes written
     */
    long write(Path target, InputStream in, Checksum checksum, long expectedSize) throws IOException {
        boolean thisDirect = direct && expectedSize >= BUFFER_BYTES;
        try (FileChannel ch = thisDirect ? open(target) : FileChannel.open(target, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            thisDirect = thisDirect && direct; // the file system may just have refused
            long size = 0;
            while (true) {
                int n = in.readNBytes(buffer, 0, BUFFER_BYTES);
                if (n == 0) {
                    break;
                }
                checksum.update(buffer, 0, n);
                size += n;
                int len = n;
                if (thisDirect && n % block != 0) {
                    len = (n / block + 1) * block;
                    Arrays.fill(buffer, n, len, (byte) 0);
                }
                ByteBuffer src;
                if (thisDirect) {
                    // an aligned buffer of our own: JDK 17's temporary aligned one fails on release (NPE in its cleaner)
                    src = aligned.clear().put(buffer, 0, len).flip();
                } else {
                    src = ByteBuffer.wrap(buffer, 0, len);
                }
                while (src.hasRemaining()) {
                    ch.write(src);
                }
                if (n < BUFFER_BYTES) {
                    break;
                }
            }
            if (thisDirect && ch.size() != size) {
                ch.truncate(size);
            }
            return size;
        }
    }

    private FileChannel open(Path target) throws IOException {
        if (direct) {
            try {
                return FileChannel.open(target, new OpenOption[] {StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        ExtendedOpenOption.DIRECT});
            } catch (FileAlreadyExistsException e) {
                throw e;
            } catch (UnsupportedOperationException | IOException refused) {
                // EINVAL from a file system without O_DIRECT, which Linux reports after creating the file
                Files.deleteIfExists(target);
                direct = false;
            }
        }
        return FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }
}
