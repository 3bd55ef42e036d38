package dev.backstop.core.internal.stream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Bytes {@code [from, to)} of a file channel by positional reads, leaving the channel's position
 * alone; closing the stream leaves the channel, the caller's, open. A file shorter than the range
 * ends the stream early: the caller's count of bytes read says so.
 */
public final class RangeInputStream extends BulkInputStream {
    private final FileChannel channel;
    private final long end;
    private long position;

    public RangeInputStream(FileChannel channel, long from, long to) {
        this.channel = channel;
        this.position = from;
        this.end = to;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        checkRange(b, off, len);
        if (len == 0) {
            return 0;
        }
        if (position >= end) {
            return -1;
        }
        int n = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - position)), position);
        if (n < 0) {
            return -1;
        }
        position += n;
        return n;
    }

    @Override
    public void close() {
        // the channel is the caller's
    }
}
