package dev.backstop.mysql.physical;

import static dev.backstop.mysql.physical.XbstreamTapTest.eof;
import static dev.backstop.mysql.physical.XbstreamTapTest.payload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class XbstreamExtractionTest {
    @TempDir
    Path dir;

    /** Extracts {@code stream} into {@code dir}, written in pieces of {@code step} bytes; returns the tap. */
    private XbstreamTap extract(byte[] stream, int step) throws IOException {
        try (XbstreamExtraction files = new XbstreamExtraction(dir)) {
            XbstreamTap tap = new XbstreamTap(OutputStream.nullOutputStream(), Set.of(), files);
            for (int i = 0; i < stream.length; i += step) {
                tap.write(stream, i, Math.min(step, stream.length - i));
            }
            return tap;
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void extract_ofInterleavedChunks_writesEveryFile_includingEmptyOnes_inItsDirectory() throws IOException {
        byte[] ibdata = random(70_001, 1);
        byte[] orders = random(1 << 16, 2);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        payload(out, "ibdata1", Arrays.copyOfRange(ibdata, 0, 40_000), 0, false);
        payload(out, "shop/orders.ibd", Arrays.copyOfRange(orders, 0, 1), 0, false);
        payload(out, "ibdata1", Arrays.copyOfRange(ibdata, 40_000, ibdata.length), 40_000, false);
        payload(out, "shop/orders.ibd", Arrays.copyOfRange(orders, 1, orders.length), 1, false);
        eof(out, "shop/orders.ibd");
        eof(out, "ibdata1");
        eof(out, "shop/db.opt.empty");
        payload(out, "empty", new byte[0], 0, false);
        eof(out, "empty");

        for (int step : new int[] {1, 4093, out.size()}) {
            try (Stream<Path> old = Files.walk(dir)) {
                old.sorted((a, b) -> b.compareTo(a)).filter(p -> !p.equals(dir)).forEach(p -> p.toFile().delete());
            }
            XbstreamTap tap = extract(out.toByteArray(), step);

            assertThat(tap.complete()).isTrue();
            assertThat(Files.readAllBytes(dir.resolve("ibdata1"))).as("step %d", step).isEqualTo(ibdata);
            assertThat(Files.readAllBytes(dir.resolve("shop/orders.ibd"))).isEqualTo(orders);
            assertThat(dir.resolve("shop/db.opt.empty")).isEmptyFile();
            assertThat(dir.resolve("empty")).isEmptyFile();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("shop/orders.ibd"))))
                    .isEqualTo("rw-r-----");
        }
    }

    @Test
    void extract_refusesEveryPathThatIsNotAPlainNameInsideTheDirectory() {
        for (String path : List.of("../escape", "/etc/passwd", "a//b", "./a", "a/../../b", "a/", "a\\b")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            payload(out, path, new byte[] {1}, 0, false);

            assertThatThrownBy(() -> extract(out.toByteArray(), out.size())).as(path).isInstanceOf(IOException.class)
                    .hasMessageStartingWith("xbstream: refusing path '" + path + "'");
        }
        assertThat(dir.getParent().resolve("escape")).doesNotExist();
    }

    @Test
    void extract_ofAChunkThatDoesNotContinueItsFile_fails() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        payload(out, "ibdata1", new byte[100], 0, false);
        payload(out, "ibdata1", new byte[100], 200, false);

        assertThatThrownBy(() -> extract(out.toByteArray(), out.size())).isInstanceOf(IOException.class)
                .hasMessage("xbstream: a chunk of ibdata1 starts at file offset 200, expected 100 (chunks out of order)");
    }

    @Test
    void extract_ofAFileTheStreamCreatesTwice_fails() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        payload(out, "ibdata1", new byte[10], 0, false);
        eof(out, "ibdata1");
        payload(out, "ibdata1", new byte[10], 0, false);

        assertThatThrownBy(() -> extract(out.toByteArray(), out.size())).isInstanceOf(IOException.class)
                .hasMessage("xbstream: file ibdata1 appears twice in the stream");
    }

    @Test
    void extract_checksTheCrcOfEveryChunk_notOnlyOfKeptFiles() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        payload(out, "ibdata1", random(1000, 3), 0, true);

        assertThatThrownBy(() -> extract(out.toByteArray(), 7)).isInstanceOf(IOException.class)
                .hasMessageContaining("a chunk of ibdata1 has CRC-32");
    }
}
