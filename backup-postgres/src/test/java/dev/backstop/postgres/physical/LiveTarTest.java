package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The live-file rules of a data directory backup, on files changed between listing and reading. */
class LiveTarTest {
    private static final Instant T = Instant.parse("2026-01-02T03:04:05Z");

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ManifestWriter manifest = new ManifestWriter();
    // a small buffer, so that the copy loops run several times per file
    private final LiveTar tar = new LiveTar(out, manifest, 1000);

    private Map<String, byte[]> entries() throws Exception {
        Map<String, byte[]> m = new LinkedHashMap<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(new ByteArrayInputStream(out.toByteArray()))) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                m.put(e.getName(), in.readAllBytes());
            }
        }
        return m;
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    private static String crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return ManifestWriter.crcHex(c.getValue());
    }

    @Test
    void file_thatVanishedAfterItWasListed_isSkippedAndNotInTheManifest() throws Exception {
        Path f = Files.write(tmp.resolve("16384"), bytes(5000, 1));
        long size = Files.size(f);
        Files.delete(f);

        assertThat(tar.file("base/5/16384", f, size, T)).isFalse();
        tar.finish();

        assertThat(entries()).isEmpty();
        assertThat(manifest.files()).isZero();
        assertThat(tar.entries()).isZero();
    }

    @Test
    void file_thatShrankAfterItWasListed_isPaddedWithZerosToTheListedSize_andTheCrcIsOfThePaddedBytes() throws Exception {
        byte[] original = bytes(8192 * 3, 2);
        Path f = Files.write(tmp.resolve("16385"), original);
        long size = Files.size(f);
        Files.write(f, java.util.Arrays.copyOf(original, 8192));

        assertThat(tar.file("base/5/16385", f, size, T)).isTrue();
        tar.finish();

        byte[] expected = new byte[8192 * 3];
        System.arraycopy(original, 0, expected, 0, 8192);
        assertThat(entries().get("base/5/16385")).isEqualTo(expected);
        String text = new String(manifest.finish(1, 0x2000028L, 0x2000100L), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(text).contains("\"Path\": \"base/5/16385\", \"Size\": 24576,").contains("\"Checksum\": \"" + crc(expected) + "\"");
    }

    @Test
    void file_thatGrewAfterItWasListed_isCutAtTheListedSize() throws Exception {
        byte[] original = bytes(8192 + 1, 3);
        Path f = Files.write(tmp.resolve("16386"), original);
        long size = Files.size(f);
        Files.write(f, bytes(8192 * 2, 4), java.nio.file.StandardOpenOption.APPEND);

        assertThat(tar.file("base/5/16386", f, size, T)).isTrue();
        tar.finish();

        assertThat(entries().get("base/5/16386")).isEqualTo(original);
        String text = new String(manifest.finish(1, 0x2000028L, 0x2000100L), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(text).contains("\"Size\": 8193,").contains("\"Checksum\": \"" + crc(original) + "\"");
    }

    @Test
    void exact_ofAShortWalSegment_failsNamingIt() throws Exception {
        Path f = Files.write(tmp.resolve("000000010000000000000002"), bytes(1000, 5));

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> tar.exact("pg_wal/000000010000000000000002", f, 16L << 20, T))
                .hasMessageContaining("000000010000000000000002").hasMessageContaining("expected 16777216");
    }

    @Test
    void entries_ofEmptyAndBoundarySizes_roundTrip() throws Exception {
        for (int n : new int[] {0, 1, 511, 512, 513, 999, 1000, 1001}) {
            Path f = Files.write(tmp.resolve("f" + n), bytes(n, n));
            assertThat(tar.file("f" + n, f, n, T)).isTrue();
        }
        tar.directory("pg_wal", T);
        tar.finish();

        Map<String, byte[]> got = entries();
        for (int n : new int[] {0, 1, 511, 512, 513, 999, 1000, 1001}) {
            assertThat(got.get("f" + n)).as("f" + n).isEqualTo(bytes(n, n));
        }
        assertThat(got).containsKey("pg_wal/");
        assertThat(tar.bytes()).isEqualTo(out.size());
        assertThat(manifest.files()).isEqualTo(8);
    }
}
