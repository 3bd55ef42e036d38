package dev.backstop.postgres.physical;

import dev.backstop.core.internal.stream.ForwardingOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.zip.CRC32C;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes files of a running cluster as a tar in pg_basebackup's layout and records each file in
 * a {@link ManifestWriter}. Files change while they are read: each is written with the size it
 * had when it was listed, padded with zeros if it shrank and cut if it grew (WAL replay from the
 * backup's start repairs both), and its manifest CRC is of exactly the bytes written. A file that
 * is gone by the time it is opened (a dropped relation) is skipped.
 *
 * <p>Memory is one read buffer. Never closes the stream it was given. Not thread-safe.
 */
final class LiveTar {
    /**
     * The tar writer copies everything into blocks of this size before passing them on; tar's
     * default of 10 KiB means 40,000 writes into the pipeline per 400 MB. The end of the tar is
     * padded with zeros to a whole block, which readers skip.
     */
    private static final int BLOCK_BYTES = 64 * 1024;
    private final TarArchiveOutputStream tar;
    private final Counting counted;
    private final ManifestWriter manifest;
    private final byte[] buf;
    private final ByteBuffer view;
    private int entries;

    LiveTar(OutputStream out, ManifestWriter manifest, int bufferBytes) {
        this.counted = new Counting(out);
        this.tar = new TarArchiveOutputStream(counted, BLOCK_BYTES);
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        this.manifest = manifest;
        this.buf = new byte[bufferBytes];
        this.view = ByteBuffer.wrap(buf);
    }

    /** A directory entry (name without trailing slash). */
    void directory(String name, Instant modified) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name + "/");
        e.setMode(0040700);
        e.setModTime(Date.from(modified));
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        entries++;
    }

    /**
     * Writes {@code file} as {@code name} with the {@code size} it had when listed; returns false
     * (and writes nothing) if it no longer exists. A read error fails the backup.
     */
    boolean file(String name, Path file, long size, Instant modified) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException gone) {
            return false;
        }
        try (ch) {
            header(name, size, modified);
            CRC32C crc = new CRC32C();
            long left = size;
            while (left > 0) {
                view.clear().limit((int) Math.min(buf.length, left));
                int n = ch.read(view);
                if (n < 0) {
                    break;
                }
                crc.update(buf, 0, n);
                tar.write(buf, 0, n);
                left -= n;
            }
            if (left > 0) {
                // it shrank (truncated by VACUUM, say): keep the header's promise with zeros
                Arrays.fill(buf, (byte) 0);
                while (left > 0) {
                    int n = (int) Math.min(buf.length, left);
                    crc.update(buf, 0, n);
                    tar.write(buf, 0, n);
                    left -= n;
                }
            }
            tar.closeArchiveEntry();
            manifest.add(name, size, modified, crc.getValue());
        }
        return true;
    }

    /**
     * Writes exactly {@code size} bytes of {@code file} or fails naming it: for WAL segments,
     * which must be whole. Not listed in the manifest (pg_verifybackup checks WAL by parsing it).
     */
    void exact(String name, Path file, long size, Instant modified) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() != size) {
                throw new IOException(file + " has " + ch.size() + " bytes, expected " + size);
            }
            header(name, size, modified);
            long left = size;
            while (left > 0) {
                view.clear().limit((int) Math.min(buf.length, left));
                int n = ch.read(view);
                if (n < 0) {
                    throw new IOException(file + " ended after " + (size - left) + " of " + size + " bytes");
                }
                tar.write(buf, 0, n);
                left -= n;
            }
            tar.closeArchiveEntry();
        }
    }

    /** A file with the given content, listed in the manifest unless {@code listed} is false. */
    void content(String name, byte[] content, Instant modified, boolean listed) throws IOException {
        header(name, content.length, modified);
        tar.write(content);
        tar.closeArchiveEntry();
        if (listed) {
            CRC32C crc = new CRC32C();
            crc.update(content);
            manifest.add(name, content.length, modified, crc.getValue());
        }
    }

    /**
     * Copies {@code size} bytes of {@code in} as the file {@code name}, not listed in the manifest
     * (a file of another tar, whose own manifest lists it); fails naming it if {@code in} ends early.
     */
    void copy(String name, InputStream in, long size, Instant modified) throws IOException {
        header(name, size, modified);
        long left = size;
        while (left > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                throw new IOException("tar entry " + name + " ended after " + (size - left) + " of " + size + " bytes");
            }
            tar.write(buf, 0, n);
            left -= n;
        }
        tar.closeArchiveEntry();
    }

    /** An entry of the first {@code length} bytes of {@code content}, not listed in the manifest: a page map. */
    void entry(String name, byte[] content, int length, Instant modified) throws IOException {
        header(name, length, modified);
        tar.write(content, 0, length);
        tar.closeArchiveEntry();
    }

    private void header(String name, long size, Instant modified) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(0100600);
        e.setSize(size);
        e.setModTime(Date.from(modified));
        tar.putArchiveEntry(e);
        entries++;
    }

    /** Ends the tar (two zero blocks and the record padding); the caller's stream stays open. */
    void finish() throws IOException {
        tar.finish();
        tar.flush();
    }

    int entries() {
        return entries;
    }

    long bytes() {
        return counted.count;
    }

    /** Counts what reaches the caller's stream and keeps the tar writer from closing it. */
    private static final class Counting extends ForwardingOutputStream {
        long count;

        Counting(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
