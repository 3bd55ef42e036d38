package dev.backstop.mysql.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

class XbstreamTapTest {
    private static final String INFO = "xtrabackup_binlog_info";

    /** A stream as mariadb-backup writes it, and the offsets where its chunks end. */
    private record Stream(byte[] bytes, List<Integer> boundaries) {
    }

    private static Stream stream(boolean badCrc) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Integer> ends = new ArrayList<>();
        byte[] big = new byte[70_000];
        new Random(7).nextBytes(big);
        payload(out, "ibdata1", Arrays.copyOfRange(big, 0, 40_000), 0, false);
        ends.add(out.size());
        payload(out, "ibdata1", Arrays.copyOfRange(big, 40_000, big.length), 40_000, false);
        ends.add(out.size());
        eof(out, "ibdata1");
        ends.add(out.size());
        payload(out, "empty", new byte[0], 0, false);
        ends.add(out.size());
        eof(out, "empty");
        ends.add(out.size());
        payload(out, INFO, "binlog.000002\t1158\t0-7-5\n".getBytes(StandardCharsets.US_ASCII), 0, badCrc);
        ends.add(out.size());
        eof(out, INFO);
        ends.add(out.size());
        return new Stream(out.toByteArray(), ends);
    }

    static void header(ByteArrayOutputStream out, char type, String path) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        out.writeBytes("XBSTCK01".getBytes(StandardCharsets.US_ASCII));
        out.write(0);
        out.write(type);
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(p.length).array());
        out.writeBytes(p);
    }

    static void payload(ByteArrayOutputStream out, String path, byte[] data, long offset, boolean badCrc) {
        header(out, 'P', path);
        CRC32 crc = new CRC32();
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length).putLong(offset)
                .putInt((int) crc.getValue() ^ (badCrc ? 1 : 0)).array());
        out.writeBytes(data);
    }

    static void eof(ByteArrayOutputStream out, String path) {
        header(out, 'E', path);
    }

    @Test
    void tap_writtenWholeOrAByteAtATime_passesEveryByte_andKeepsTheNamedFile() throws IOException {
        Stream s = stream(false);
        for (int step : new int[] {1, 13, s.bytes().length}) {
            ByteArrayOutputStream copy = new ByteArrayOutputStream();
            XbstreamTap tap = new XbstreamTap(copy, Set.of(INFO));
            for (int i = 0; i < s.bytes().length; i += step) {
                tap.write(s.bytes(), i, Math.min(step, s.bytes().length - i));
            }

            assertThat(copy.toByteArray()).as("step %d", step).isEqualTo(s.bytes());
            assertThat(tap.complete()).isTrue();
            assertThat(tap.bytes()).isEqualTo(s.bytes().length);
            assertThat(tap.file(INFO)).contains("binlog.000002\t1158\t0-7-5\n");
            assertThat(tap.file("ibdata1")).isEmpty();
        }
    }

    @Test
    void tap_isCompleteExactlyAtChunkBoundaries() throws IOException {
        Stream s = stream(false);
        XbstreamTap tap = new XbstreamTap(new ByteArrayOutputStream(), Set.of(INFO));
        assertThat(tap.complete()).isFalse();
        for (int i = 0; i < s.bytes().length; i++) {
            tap.write(s.bytes()[i]);
            assertThat(tap.complete()).as("after %d bytes", i + 1).isEqualTo(s.boundaries().contains(i + 1));
        }
    }

    @Test
    void tap_ofBytesThatAreNoChunk_failsNamingTheOffset() throws IOException {
        Stream s = stream(false);
        byte[] bad = s.bytes().clone();
        int second = s.boundaries().get(0);
        bad[second + 3] = 'x';
        XbstreamTap tap = new XbstreamTap(new ByteArrayOutputStream(), Set.of(INFO));

        assertThatThrownBy(() -> tap.write(bad, 0, bad.length)).isInstanceOf(IOException.class)
                .hasMessage("xbstream: no chunk magic at offset " + second);
    }

    @Test
    void tap_ofAKeptFileWithAWrongChecksum_fails() throws IOException {
        Stream s = stream(true);
        XbstreamTap tap = new XbstreamTap(new ByteArrayOutputStream(), Set.of(INFO));

        assertThatThrownBy(() -> tap.write(s.bytes(), 0, s.bytes().length)).isInstanceOf(IOException.class)
                .hasMessageContaining("a chunk of " + INFO + " has CRC-32");
    }

    @Test
    void tap_ofAnUnknownChunkType_fails() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        header(out, 'Z', "x");
        XbstreamTap tap = new XbstreamTap(new ByteArrayOutputStream(), Set.of());

        assertThatThrownBy(() -> tap.write(out.toByteArray(), 0, out.size())).hasMessage(
                "xbstream: unknown chunk type 0x5a at offset 9");
    }

    @Test
    void binlogPoint_parsesTheToolsLine_withAndWithoutGtid() {
        assertThat(BinlogPoint.parse("binlog.000002\t1158\t0-7-5,1-7-9\n"))
                .isEqualTo(new BinlogPoint("binlog.000002", 1158, "0-7-5,1-7-9"));
        assertThat(BinlogPoint.parse("binlog.000001\t328\n")).isEqualTo(new BinlogPoint("binlog.000001", 328, ""));
        assertThatThrownBy(() -> BinlogPoint.parse("binlog.000001 328")).hasMessageContaining("expected file<TAB>position");
    }
}
