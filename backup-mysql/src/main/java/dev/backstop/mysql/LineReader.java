package dev.backstop.mysql;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/** Splits a stream into lines, each with its line end. */
final class LineReader {
    private final InputStream in;
    private final byte[] buf = new byte[ParallelLoad.CHUNK];
    private int pos;
    private int limit;
    private long count;

    LineReader(InputStream in) {
        this.in = in;
    }

    long count() {
        return count;
    }

    byte[] next() throws IOException {
        ByteArray line = null;
        while (true) {
            if (pos == limit) {
                int n = in.read(buf, 0, buf.length);
                if (n < 0) {
                    return line == null ? null : line.toArray();
                }
                count += n;
                pos = 0;
                limit = n;
            }
            int start = pos;
            while (pos < limit && buf[pos] != '\n') {
                pos++;
            }
            boolean end = pos < limit;
            if (end) {
                pos++;
            }
            if (line == null && end) {
                return Arrays.copyOfRange(buf, start, pos);
            }
            if (line == null) {
                line = new ByteArray();
            }
            line.write(Arrays.copyOfRange(buf, start, pos));
            if (end) {
                return line.toArray();
            }
        }
    }
}
