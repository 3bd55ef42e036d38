package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Restored files written with direct I/O are the bytes given, whatever their length. */
class DirectFileWriterTest {
    private static final int B = DirectFileWriter.BUFFER_BYTES;
    private static final int[] SIZES = {0, 1, 511, 4095, 4096, 4097, 8192, B - 1, B, B + 1, B + 4095, B + 4096, 3 * B + 12345};

    @TempDir
    Path dir;

    @ParameterizedTest(name = "direct I/O tried: {0}")
    @ValueSource(booleans = {true, false})
    void writesEveryLength_aroundBlockAndBufferBoundaries_exactlyAndWithTheirChecksum(boolean tryDirect) throws Exception {
        DirectFileWriter w = new DirectFileWriter(dir, tryDirect);
        Random random = new Random(42);
        for (int size : SIZES) {
            byte[] data = new byte[size];
            random.nextBytes(data);
            Path f = dir.resolve("f" + size);
            CRC32C crc = new CRC32C();

            long written = w.write(f, new ByteArrayInputStream(data), crc, size);

            assertThat(written).as("bytes reported for %d", size).isEqualTo(size);
            assertThat(Files.size(f)).as("length of the %d-byte file", size).isEqualTo(size);
            assertThat(Files.readAllBytes(f)).as("content of the %d-byte file", size).isEqualTo(data);
            CRC32C expected = new CRC32C();
            expected.update(data);
            assertThat(crc.getValue()).as("checksum of the %d-byte file", size).isEqualTo(expected.getValue());
        }
    }

    @Test
    void usesDirectIo_onTheLocalDiskFileSystemsThatSupportIt() throws Exception {
        String type = Files.getFileStore(dir).type();
        DirectFileWriter w = new DirectFileWriter(dir, true);
        w.write(dir.resolve("a"), new ByteArrayInputStream(new byte[B + 5000]), new CRC32C(), B + 5000);
        if (type.equals("ext4") || type.equals("xfs") || type.equals("btrfs")) {
            assertThat(w.direct()).as("direct I/O on %s", type).isTrue();
        }
        assertThat(new DirectFileWriter(dir, false).direct()).isFalse();
    }

    @Test
    void aFileWhoseHeaderPromisedLittleButThatIsLong_isStillWrittenWhole() throws Exception {
        byte[] data = new byte[2 * B + 17];
        new Random(5).nextBytes(data);
        DirectFileWriter w = new DirectFileWriter(dir, true);
        assertThat(w.write(dir.resolve("small-hint"), new ByteArrayInputStream(data), new CRC32C(), 10)).isEqualTo(data.length);
        assertThat(w.write(dir.resolve("big-hint"), new ByteArrayInputStream(data, 0, 100), new CRC32C(), 3L * B)).isEqualTo(100);
        assertThat(Files.readAllBytes(dir.resolve("small-hint"))).isEqualTo(data);
        assertThat(Files.size(dir.resolve("big-hint"))).isEqualTo(100);
    }

    @Test
    void readsOnlyTheStreamItIsGiven_leavingWhatFollowsForTheCaller() throws Exception {
        DirectFileWriter w = new DirectFileWriter(dir, true);
        byte[] data = "0123456789".getBytes(StandardCharsets.US_ASCII);
        InputStream in = new ByteArrayInputStream(data);
        // a tar entry's stream ends at the entry's end: the same with a stream cut to 4 bytes
        InputStream first = new java.io.FilterInputStream(in) {
            int left = 4;

            @Override
            public int read(byte[] b, int off, int len) throws java.io.IOException {
                if (left == 0) {
                    return -1;
                }
                int n = super.read(b, off, Math.min(len, left));
                left -= Math.max(n, 0);
                return n;
            }
        };

        assertThat(w.write(dir.resolve("x"), first, new CRC32C(), B)).isEqualTo(4);
        assertThat(Files.readString(dir.resolve("x"))).isEqualTo("0123");
        assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("456789");
    }

    @Test
    void refusesAnExistingFile_andLeavesItsContentAlone() throws Exception {
        Path f = dir.resolve("kept");
        Files.writeString(f, "precious");
        DirectFileWriter w = new DirectFileWriter(dir, true);

        assertThatThrownBy(() -> w.write(f, new ByteArrayInputStream(new byte[10]), new CRC32C(), B))
                .isInstanceOf(FileAlreadyExistsException.class);
        assertThat(Files.readString(f)).isEqualTo("precious");
        assertThat(w.direct()).as("an existing file is not a refusal of direct I/O").isEqualTo(new DirectFileWriter(dir, true).direct());
    }
}
