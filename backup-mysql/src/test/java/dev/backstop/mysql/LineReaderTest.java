package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LineReaderTest {
    private static final int CHUNK = ParallelLoad.CHUNK;

    /** Hands out at most {@code max} bytes per read, as a pipe does. */
    private static InputStream shortReads(byte[] b, int max) {
        return new FilterInputStream(new ByteArrayInputStream(b)) {
            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                return super.read(buf, off, Math.min(len, max));
            }
        };
    }

    private static List<byte[]> lines(InputStream in) throws IOException {
        LineReader r = new LineReader(in);
        List<byte[]> out = new ArrayList<>();
        for (byte[] line = r.next(); line != null; line = r.next()) {
            out.add(line);
        }
        return out;
    }

    @Test
    void next_returnsEveryLineWithItsEnd_atAnyLengthAroundTheBuffer_andTheLastLineWithoutOne() throws Exception {
        Random random = new Random(42);
        List<byte[]> expected = new ArrayList<>();
        ByteArrayOutputStream dump = new ByteArrayOutputStream();
        for (int length : new int[] {1, 2, 7, 8, 9, 100, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5, 1, 4 * CHUNK, 17}) {
            byte[] line = new byte[length];
            for (int i = 0; i < length - 1; i++) {
                // any byte but a line end, with '\n'-like neighbours ('\t', '\u000b') among them
                byte b = (byte) random.nextInt(256);
                line[i] = b == '\n' ? 0x0B : b;
            }
            line[length - 1] = '\n';
            expected.add(line);
            dump.writeBytes(line);
        }
        byte[] last = "UNLOCK TABLES;".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        expected.add(last);
        dump.writeBytes(last);
        byte[] all = dump.toByteArray();

        for (int max : new int[] {1, 4096, 65536, Integer.MAX_VALUE}) {
            LineReader r = new LineReader(shortReads(all, max));
            List<byte[]> got = new ArrayList<>();
            for (byte[] line = r.next(); line != null; line = r.next()) {
                got.add(line);
            }
            assertThat(got).as("reads of at most %d bytes", max).containsExactlyElementsOf(expected);
            assertThat(r.count()).isEqualTo(all.length);
        }
    }

    @Test
    void next_ofAnEmptyStream_isNull() throws Exception {
        assertThat(lines(new ByteArrayInputStream(new byte[0]))).isEmpty();
    }

    @Test
    void newline_findsTheFirstLineEnd_atEveryOffsetOfAWord() {
        for (int at = 0; at < 20; at++) {
            byte[] b = new byte[20];
            java.util.Arrays.fill(b, (byte) 0x8A);
            b[at] = '\n';
            if (at + 3 < b.length) {
                b[at + 3] = '\n';
            }
            assertThat(LineReader.newline(b, 0, b.length)).isEqualTo(at);
            assertThat(LineReader.newline(b, 0, at)).isEqualTo(at);
        }
    }
}
