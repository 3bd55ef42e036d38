package dev.backstop.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarStreamsTest {
    @TempDir
    Path tmp;

    @Property(tries = 40, seed = "42")
    void writeThenExtract_reproducesEveryFileExactly(@ForAll @Size(max = 6) Map<@IntRange(min = 1, max = 99999) Integer,
            @Size(max = 70_000) byte[]> files) throws IOException {
        Path root = Files.createTempDirectory("tar-prop-");
        try {
            Path src = Files.createDirectory(root.resolve("src"));
            Map<String, byte[]> expected = new TreeMap<>();
            for (Map.Entry<Integer, byte[]> e : files.entrySet()) {
                String name = e.getKey() + ".dat";
                Files.write(src.resolve(name), e.getValue());
                expected.put(name, e.getValue());
            }
            Files.write(src.resolve("toc.dat"), new byte[] {1, 2, 3});
            expected.put("toc.dat", new byte[] {1, 2, 3});
            ByteArrayOutputStream tar = new ByteArrayOutputStream();
            TarStreams.write(src, tar);
            Path dst = Files.createDirectory(root.resolve("dst"));

            int n = TarStreams.extract(new ByteArrayInputStream(tar.toByteArray()), dst);

            assertThat(n).isEqualTo(expected.size());
            for (Map.Entry<String, byte[]> e : expected.entrySet()) {
                assertThat(Files.readAllBytes(dst.resolve(e.getKey()))).as(e.getKey()).isEqualTo(e.getValue());
            }
        } finally {
            try (Stream<Path> s = Files.walk(root)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void write_putsTheTableOfContentsFirst() throws IOException {
        Path src = Files.createDirectory(tmp.resolve("src"));
        Files.write(src.resolve("1234.dat"), new byte[10]);
        Files.write(src.resolve("toc.dat"), new byte[10]);
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        TarStreams.write(src, tar);

        assertThat(new String(tar.toByteArray(), 0, 7, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("toc.dat");
    }

    @Test
    void extract_refusesAnEntryThatWouldLeaveTheDirectory() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(buf)) {
            TarArchiveEntry e = new TarArchiveEntry("../escape.dat");
            e.setSize(1);
            tar.putArchiveEntry(e);
            tar.write(7);
            tar.closeArchiveEntry();
        }
        Path dst = Files.createDirectory(tmp.resolve("dst"));

        assertThatThrownBy(() -> TarStreams.extract(new ByteArrayInputStream(buf.toByteArray()), dst))
                .isInstanceOf(IOException.class).hasMessageContaining("'../escape.dat'");
        assertThat(tmp.resolve("escape.dat")).doesNotExist();
    }
}
