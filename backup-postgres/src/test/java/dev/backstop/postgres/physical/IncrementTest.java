package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IncrementTest {
    static InputStream json(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void sizes_ofAManifestFromManifestWriter_giveEachFilesPathAndSize() throws IOException {
        ManifestWriter w = new ManifestWriter();
        Instant t = Instant.parse("2026-12-01T00:00:00Z");
        w.add("base/5/16384", 3L * PageFilter.PAGE, t, 7);
        w.add("odd \"name\"\\with\ttab", 0, t, 0);
        w.add("global/1262.1", 1L << 33, t, 1);
        Map<String, Long> sizes = Increment.sizes(new ByteArrayInputStream(w.finish(1, 0x10, 0x20)));
        assertThat(sizes).containsOnly(Map.entry("base/5/16384", 3L * PageFilter.PAGE),
                Map.entry("odd \"name\"\\with\ttab", 0L), Map.entry("global/1262.1", 1L << 33));
    }

    @Test
    void sizes_skipFieldsTheyDoNotNeed_inAnyOrder() throws IOException {
        Map<String, Long> sizes = Increment.sizes(json("{ \"PostgreSQL-Backup-Manifest-Version\": 1, \"WAL-Ranges\": [{ \"Timeline\": 1 }],"
                + " \"Files\": [ { \"Size\": 8192, \"Extra\": { \"Size\": 1, \"Path\": \"x\" }, \"Path\": \"a\" } ],"
                + " \"Manifest-Checksum\": \"00\" }"));
        assertThat(sizes).containsOnly(Map.entry("a", 8192L));
    }

    @Test
    void sizes_ofAFileWithoutASize_failNamingIt() {
        assertThatThrownBy(() -> Increment.sizes(json("{ \"Files\": [ { \"Path\": \"base/5/1\" } ] }")))
                .isInstanceOf(IOException.class).hasMessageContaining("base/5/1");
    }

    @Test
    void sizes_ofSomethingElseThanAnObject_fail() {
        assertThatThrownBy(() -> Increment.sizes(json("[]"))).isInstanceOf(IOException.class);
    }
}
