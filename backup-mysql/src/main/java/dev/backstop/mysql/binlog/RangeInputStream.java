package dev.backstop.mysql.binlog;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;

/** Bytes {@code [from, to)} of a channel by positional reads; the channel stays open. */
final class RangeInputStream extends InputStream {
    private final FileChannel ch;
    private long pos;
    private final long end;

    RangeInputStream(FileChannel ch, long from, long to) {
        this.ch = ch;
        this.pos = from;
        this.end = to;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (pos >= end) {
            return -1;
        }
        int n = ch.read(java.nio.ByteBuffer.wrap(b, off, (int) Math.min(len, end - pos)), pos);
        if (n < 0) {
            return -1; // the file is shorter than the range: the caller's count says so
        }
        pos += n;
        return n;
    }

    @Override
    public void close() {
        // the channel is closed by putDelta
    }
}
