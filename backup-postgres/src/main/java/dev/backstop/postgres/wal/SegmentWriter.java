package dev.backstop.postgres.wal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes the replication stream into {@code <segment>.partial} in the work directory, each byte at
 * its offset in the segment, as pg_receivewal does. A segment that fills up is fsynced and renamed
 * to its own name before it is handed on, so a file without {@code .partial} is always complete.
 */
final class SegmentWriter implements Closeable {
    /** Receives each completed segment, already durable under its own name. */
    interface Completed {
        void segment(Path file, WalFile segment) throws IOException;
    }

    private final Path workDir;
    private final Timelines history;
    private WalFile seg;
    private Path partial;
    private FileChannel ch;
    private long written;
    private boolean dirty;

    SegmentWriter(Path workDir, Timelines history, long start) throws IOException {
        this.workDir = Files.createDirectories(workDir);
        this.history = history;
        this.written = start;
        open(history.segmentAt(start));
    }

    private void open(WalFile segment) throws IOException {
        seg = segment;
        partial = workDir.resolve(seg.name() + ".partial");
        ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** The segment being written. */
    WalFile segment() {
        return seg;
    }

    /**
     * A read-only channel on the segment being written, for uploading a range of it while writing
     * goes on; it stays valid when the file is renamed at completion. The caller closes it.
     */
    FileChannel openForReading() throws IOException {
        return FileChannel.open(partial, StandardOpenOption.READ);
    }

    /** The LSN just past the last byte written. */
    long written() {
        return written;
    }

    /** Writes all of {@code buf}, which starts at {@link #written()}; completed segments go to {@code done} in order. */
    void write(ByteBuffer buf, Completed done) throws IOException {
        while (buf.hasRemaining()) {
            long room = seg.endLsn() - written;
            int n = (int) Math.min(room, buf.remaining());
            ByteBuffer part = buf.slice();
            part.limit(n);
            long pos = written - seg.startLsn();
            while (part.hasRemaining()) {
                pos += ch.write(part, pos);
            }
            buf.position(buf.position() + n);
            written += n;
            dirty = true;
            if (written == seg.endLsn()) {
                ch.force(false);
                ch.close();
                dirty = false;
                Path complete = workDir.resolve(seg.name());
                Files.move(partial, complete, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                WalFile finished = seg;
                open(history.segmentAt(seg.endLsn()));
                done.segment(complete, finished);
            }
        }
    }

    /** Fsyncs what was written since the last call; returns whether there was anything to sync. */
    boolean force() throws IOException {
        if (!dirty) {
            return false;
        }
        ch.force(false);
        dirty = false;
        return true;
    }

    /** Closes the partial file; it stays on disk, and the next session streams its bytes again. */
    @Override
    public void close() throws IOException {
        ch.close();
    }
}
