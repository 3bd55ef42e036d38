package dev.backstop.core.internal.zstd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.ZstdInputStream;
import dev.backstop.core.DataSize;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.internal.zstd.ZstdFrames;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FramedZstdTest {
    static final int FRAME = 64 * 1024;
    static final ObjectBinding BINDING = new ObjectBinding("20261121T000000Z-raw-abc123", "backups/x/data");
    static final ZstdTransform FRAMED = ZstdTransform.builder().level(3).workers(2).frameSize(DataSize.ofBytes(FRAME))
            .decodeThreads(2).build();

    /** Half random, half text-like: frames of different compressed lengths. */
    static byte[] data(int size, long seed) {
        byte[] b = new byte[size];
        Random r = new Random(seed);
        for (int i = 0; i < size; i++) {
            b[i] = (i / 1000) % 2 == 0 ? (byte) r.nextInt() : (byte) ('a' + r.nextInt(4));
        }
        return b;
    }

    static byte[] encode(ZstdTransform t, byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = t.encode(bytes, BINDING)) {
            Random r = new Random(data.length);
            int off = 0;
            while (off < data.length) {
                int n = Math.min(data.length - off, 1 + r.nextInt(100_000));
                out.write(data, off, n);
                off += n;
            }
        }
        return bytes.toByteArray();
    }

    static byte[] decode(ZstdTransform t, byte[] encoded) throws IOException {
        try (InputStream in = t.decode(new ByteArrayInputStream(encoded), BINDING)) {
            return in.readAllBytes();
        }
    }

    /** Offsets of the frame records (magic 0x184D2A5B) and of the end record, walking the records. */
    static List<Integer> records(byte[] enc) {
        List<Integer> at = new java.util.ArrayList<>();
        int off = 0;
        while (off < enc.length) {
            at.add(off);
            if (ZstdFrames.getInt(enc, off) == ZstdFrames.END_MAGIC) {
                break;
            }
            off += ZstdFrames.RECORD + ZstdFrames.getInt(enc, off + 12);
        }
        return at;
    }

    static List<String> decodeThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("backstop-zstd-")).toList();
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME + 7})
    void decodeOfEncode_ofBoundarySizes_returnsTheInput(int size) throws IOException {
        byte[] data = data(size, size);
        byte[] enc = encode(FRAMED, data);
        assertThat(decode(FRAMED, enc)).isEqualTo(data);
        // one record per started frame, plus the end record
        assertThat(records(enc)).hasSize((size + FRAME - 1) / FRAME + 1);
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, FRAME, 3 * FRAME + 7})
    void framedStream_isReadByAPlainZstdDecoder(int size) throws IOException {
        byte[] data = data(size, 3);
        byte[] enc = encode(FRAMED, data);
        try (InputStream in = new ZstdInputStream(new ByteArrayInputStream(enc))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
        // and by the streaming decoder, as a restore that predates framed mode would read it
        assertThat(decode(ZstdTransform.level(3), enc)).isEqualTo(data);
    }

    @Test
    void givenThreadFactory_runsEveryEncodeAndDecodeThread_andTheBytesRoundTrip() throws IOException {
        java.util.List<String> made = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.ThreadFactory mine = r -> {
            Thread t = new Thread(r, "mine-" + made.size());
            t.setDaemon(true);
            made.add(t.getName());
            return t;
        };
        ZstdTransform t = ZstdTransform.builder().level(3).workers(2).decodeThreads(2).frameSize(DataSize.ofBytes(FRAME))
                .threads(mine).build();
        byte[] in = data(5 * FRAME + 17, 11);

        byte[] encoded = encode(t, in);
        int encodeThreads = made.size();

        assertThat(decode(t, encoded)).isEqualTo(in);
        assertThat(encodeThreads).as("encode threads").isBetween(1, 2);
        assertThat(made.size() - encodeThreads).as("decode threads").isBetween(1, 2);
        assertThatThrownBy(() -> ZstdTransform.builder().threads(mine).threads(mine))
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("threads: already set to ");
    }

    @Test
    void encode_onTheWritingThread_writesTheSameFrames() throws IOException {
        byte[] data = data(3 * FRAME + 7, 5);
        ZstdTransform inline = ZstdTransform.builder().level(3).frameSize(DataSize.ofBytes(FRAME)).build();
        assertThat(inline.framed()).isTrue();
        assertThat(encode(inline, data)).isEqualTo(encode(FRAMED, data));
    }

    @Test
    void truncated_atAFrameBoundary_failsNamingTheMissingEndRecord() throws IOException {
        byte[] data = data(3 * FRAME + 7, 1);
        byte[] enc = encode(FRAMED, data);
        List<Integer> at = records(enc);
        for (int cut : new int[] {at.get(2), at.get(at.size() - 1)}) {
            byte[] shorter = Arrays.copyOf(enc, cut);
            assertThatThrownBy(() -> decode(FRAMED, shorter)).isInstanceOf(IOException.class)
                    .hasMessageContaining("without its end record (truncated at a frame boundary)");
        }
    }

    @Test
    void truncated_insideAFrame_failsNamingTheFrame() throws IOException {
        byte[] enc = encode(FRAMED, data(3 * FRAME + 7, 1));
        int frame1 = records(enc).get(1);
        byte[] shorter = Arrays.copyOf(enc, frame1 + ZstdFrames.RECORD + 100);
        assertThatThrownBy(() -> decode(FRAMED, shorter)).isInstanceOf(IOException.class)
                .hasMessageContaining("frame 1 at offset " + (frame1 + ZstdFrames.RECORD) + " is truncated: 100 of its");
        byte[] inRecord = Arrays.copyOf(enc, frame1 + 12);
        assertThatThrownBy(() -> decode(FRAMED, inRecord)).isInstanceOf(IOException.class)
                .hasMessageContaining("ends inside the record at offset " + frame1);
    }

    @Test
    void flippedByte_inAFrame_failsNamingTheFrame() throws IOException {
        byte[] enc = encode(FRAMED, data(3 * FRAME + 7, 1));
        int frame2 = records(enc).get(2);
        enc[frame2 + ZstdFrames.RECORD + 2000] ^= 0x10;
        assertThatThrownBy(() -> decode(FRAMED, enc)).isInstanceOf(IOException.class)
                .hasMessageContaining("frame 2 at offset " + (frame2 + ZstdFrames.RECORD) + " is damaged");
    }

    @Test
    void afterAFailure_readKeepsFailing_andTheThreadsAreGone() throws IOException {
        byte[] enc = encode(FRAMED, data(6 * FRAME, 1));
        enc[records(enc).get(1) + ZstdFrames.RECORD + 2000] ^= 0x10;
        InputStream in = FRAMED.decode(new ByteArrayInputStream(enc), BINDING);
        assertThat(in.readNBytes(FRAME)).hasSize(FRAME);
        assertThatThrownBy(() -> in.read(new byte[10])).isInstanceOf(IOException.class).hasMessageContaining("frame 1");
        assertThat(decodeThreads()).isEmpty();
        // frame 2 decoded fine, but must never come out as if it followed frame 0
        assertThatThrownBy(() -> in.read(new byte[10])).isInstanceOf(IOException.class).hasMessageContaining("failed earlier");
        in.close();
    }

    @Test
    void byteByByteWrites_andReads_roundTrip() throws IOException {
        byte[] data = data(FRAME + 3, 6);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = FRAMED.encode(bytes, BINDING)) {
            for (byte b : data) {
                out.write(b);
            }
        }
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        try (InputStream in = FRAMED.decode(new ByteArrayInputStream(bytes.toByteArray()), BINDING)) {
            for (int b = in.read(); b >= 0; b = in.read()) {
                back.write(b);
            }
        }
        assertThat(back.toByteArray()).isEqualTo(data);
    }

    @Test
    void flippedByte_inARecord_failsNamingTheOffset() throws IOException {
        byte[] enc = encode(FRAMED, data(3 * FRAME + 7, 1));
        int frame1 = records(enc).get(1);
        enc[frame1 + 1] ^= 0x01;
        assertThatThrownBy(() -> decode(FRAMED, enc)).isInstanceOf(IOException.class)
                .hasMessageContaining("offset " + frame1 + " holds magic");
        byte[] enc2 = encode(FRAMED, data(3 * FRAME + 7, 1));
        enc2[frame1 + 17] ^= 0x01; // plaintext length
        assertThatThrownBy(() -> decode(FRAMED, enc2)).isInstanceOf(IOException.class)
                .hasMessageContaining("frame 1");
    }

    @Test
    void swappedFrames_withTheirRecords_failNamingTheOrder() throws IOException {
        byte[] enc = encode(FRAMED, data(3 * FRAME + 7, 1));
        List<Integer> at = records(enc);
        byte[] swapped = new byte[enc.length];
        int n = 0;
        for (int[] range : new int[][] {{0, at.get(1)}, {at.get(2), at.get(3)}, {at.get(1), at.get(2)}, {at.get(3), enc.length}}) {
            System.arraycopy(enc, range[0], swapped, n, range[1] - range[0]);
            n += range[1] - range[0];
        }
        assertThatThrownBy(() -> decode(FRAMED, swapped)).isInstanceOf(IOException.class)
                .hasMessageContaining("is numbered 2, expected 1 (frames reordered");
    }

    @Test
    void swappedFrames_underTheirRecords_failNamingTheChecksum() throws IOException {
        // random data: every full frame compresses to the same length, so bodies can trade places
        byte[] data = new byte[3 * FRAME];
        new Random(9).nextBytes(data);
        byte[] enc = encode(FRAMED, data);
        List<Integer> at = records(enc);
        int len = at.get(1) - at.get(0);
        assertThat(at.get(2) - at.get(1)).isEqualTo(len);
        byte[] body0 = Arrays.copyOfRange(enc, ZstdFrames.RECORD, len);
        System.arraycopy(enc, at.get(1) + ZstdFrames.RECORD, enc, ZstdFrames.RECORD, len - ZstdFrames.RECORD);
        System.arraycopy(body0, 0, enc, at.get(1) + ZstdFrames.RECORD, body0.length);
        assertThatThrownBy(() -> decode(FRAMED, enc)).isInstanceOf(IOException.class)
                .hasMessageContaining("frame 0 at offset 24 does not end with the checksum its record names");
    }

    @Test
    void droppedLastFrame_failsOnTheEndRecord() throws IOException {
        byte[] enc = encode(FRAMED, data(3 * FRAME + 7, 1));
        List<Integer> at = records(enc);
        byte[] dropped = new byte[enc.length - (at.get(4) - at.get(3))];
        System.arraycopy(enc, 0, dropped, 0, at.get(3));
        System.arraycopy(enc, at.get(4), dropped, at.get(3), enc.length - at.get(4));
        assertThatThrownBy(() -> decode(FRAMED, dropped)).isInstanceOf(IOException.class)
                .hasMessageContaining("end record at offset " + at.get(3) + " says 4 frames")
                .hasMessageContaining("the stream had 3 frames");
    }

    @Test
    void bytesAfterTheEndRecord_fail() throws IOException {
        byte[] enc = encode(FRAMED, data(FRAME + 1, 1));
        byte[] longer = Arrays.copyOf(enc, enc.length + 1);
        assertThatThrownBy(() -> decode(FRAMED, longer)).isInstanceOf(IOException.class)
                .hasMessageContaining("data follows the end record");
    }

    @Test
    void aStreamWithoutFrames_failsAsNotFramed() throws IOException {
        byte[] enc = encode(ZstdTransform.level(3), data(1000, 1));
        assertThatThrownBy(() -> decode(FRAMED, enc)).isInstanceOf(IOException.class)
                .hasMessageContaining("offset 0 holds magic 0xfd2fb528");
    }

    @Test
    void closeEarly_stopsTheDecodeThreads() throws IOException {
        byte[] enc = encode(FRAMED, data(40 * FRAME, 2));
        InputStream in = FRAMED.decode(new ByteArrayInputStream(enc), BINDING);
        assertThat(in.readNBytes(FRAME + 10)).hasSize(FRAME + 10);
        assertThat(decodeThreads()).anyMatch(n -> n.startsWith("backstop-zstd-decode-"));
        in.close();
        assertThat(decodeThreads()).isEmpty();
        assertThatThrownBy(() -> in.read()).isInstanceOf(IOException.class).hasMessageContaining("closed");
    }

    @Test
    void readToTheEnd_stopsTheDecodeThreadsWithoutClose() throws IOException {
        byte[] data = data(10 * FRAME, 2);
        InputStream in = FRAMED.decode(new ByteArrayInputStream(encode(FRAMED, data)), BINDING);
        assertThat(in.readAllBytes()).isEqualTo(data);
        assertThat(decodeThreads()).isEmpty();
        in.close();
    }

    @Test
    void encoder_closed_leavesNoThreads() throws IOException {
        encode(FRAMED, data(10 * FRAME, 2));
        assertThat(decodeThreads()).isEmpty();
    }

    @Test
    void encoder_writeFailure_leavesNoEndRecordAndNoThreads() throws IOException {
        OutputStream failing = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("disk full");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("disk full");
            }
        };
        OutputStream out = FRAMED.encode(failing, BINDING);
        byte[] data = data(10 * FRAME, 2);
        assertThatThrownBy(() -> {
            try (out) {
                out.write(data);
            }
        }).isInstanceOf(IOException.class).hasMessage("disk full");
        assertThat(decodeThreads()).isEmpty();
    }

    @Test
    void spec_recordsTheFrameSize_andFromSpecDecodesOldAndNewObjects() throws IOException {
        TransformSpec spec = FRAMED.spec();
        assertThat(spec.parameters()).containsEntry("frames", Integer.toString(FRAME)).containsEntry("workers", "2");
        ZstdTransform back = ZstdTransform.fromSpec(spec);
        assertThat(back.framed()).isTrue();
        assertThat(back.frameSize()).contains(DataSize.ofBytes(FRAME));
        byte[] data = data(3 * FRAME + 7, 4);
        assertThat(decode(back, encode(FRAMED, data))).isEqualTo(data);

        // a manifest written before framed mode: native workers recorded, no frames
        ZstdTransform old = ZstdTransform.fromSpec(new TransformSpec("zstd", Map.of("level", "3", "windowLog", "0", "workers", "2")));
        assertThat(old.framed()).isFalse();
        assertThat(decode(old, encode(ZstdTransform.level(3), data))).isEqualTo(data);
    }

    @Test
    void workers_meanFramedMode_andZeroMeansOneStream() {
        assertThat(ZstdTransform.builder().workers(2).build().frameSize()).contains(ZstdTransform.DEFAULT_FRAME_SIZE);
        assertThat(ZstdTransform.level(3).framed()).isFalse();
        assertThat(ZstdTransform.level(3).spec().parameters()).doesNotContainKey("frames");
    }

    @Test
    void builder_rejectsFrameSizesOutOfRange_namingTheBound() {
        assertThatThrownBy(() -> ZstdTransform.builder().frameSize(DataSize.ofBytes(100)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("zstd frameSize: got 100 B, allowed 4.0 KiB..256.0 MiB");
        assertThatThrownBy(() -> ZstdTransform.builder().decodeThreads(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("allowed 1..64");
    }
}
