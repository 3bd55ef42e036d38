package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.event.AuditLog;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.lock.LeaseRecord;
import dev.backstop.core.lock.RepositoryLock;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lock leases and audit entries written without a format version stay readable; newer ones are refused by name. */
class StoredFormatVersionTest {
    private static final Instant NOW = Instant.parse("2026-11-21T03:00:00Z");

    @TempDir
    Path tmp;

    private final MutableClock clock = new MutableClock(NOW);

    private static void put(Sink sink, String key, ObjectKind kind, String text) throws IOException {
        try (Sink.Upload up = sink.create(key, kind)) {
            try (OutputStream out = up.stream()) {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            }
            up.commit();
        }
    }

    private RepositoryLock lock(Sink sink) {
        return RepositoryLock.builder(sink).holder("new-host").ttl(Duration.ofMinutes(1)).clock(clock).build();
    }

    @Test
    void lease_writtenWithoutAVersion_isReadAsFormatOne_andItsHolderKeepsTheLock() throws IOException {
        Sink sink = FileSystemSink.open(tmp.resolve("repo"));
        put(sink, RepositoryLayout.leaseKey("repository", 1), ObjectKind.LOCK,
                "holder=old-host\ntoken=1\nexpires=" + NOW.plusSeconds(60) + "\nreleased=false\n");

        assertThatThrownBy(() -> lock(sink).acquire()).isInstanceOf(BackupException.class).hasMessageContaining("held by old-host");
        assertThat(lock(sink).describe()).hasValueSatisfying(d -> assertThat(d).contains("old-host"));
    }

    @Test
    void lease_writtenNow_carriesItsFormatVersion() throws IOException {
        Sink sink = FileSystemSink.open(tmp.resolve("repo"));
        try (RepositoryLock.Lease lease = lock(sink).acquire()) {
            assertThat(lease.token()).isEqualTo(1);
            try (var in = sink.open(RepositoryLayout.leaseKey("repository", 1))) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).startsWith("formatVersion=1\n");
            }
        }
    }

    @Test
    void lease_ofANewerFormat_isRefused_namingItAndItsVersion_andCountsAsLive() throws IOException {
        Sink sink = FileSystemSink.open(tmp.resolve("repo"));
        String key = RepositoryLayout.leaseKey("repository", 1);
        put(sink, key, ObjectKind.LOCK, "formatVersion=2\nholder=future\ntoken=1\nexpires=" + NOW.minusSeconds(60)
                + "\nreleased=true\n");

        assertThatThrownBy(() -> lock(sink).acquire()).isInstanceOf(IntegrityException.class)
                .hasMessageContaining(key).hasMessageContaining("formatVersion 2");
        assertThat(LeaseRecord.liveLeases(sink, NOW)).singleElement()
                .satisfies(l -> assertThat(l).contains(key).contains("counted as live"));
    }

    /** An entry as stored: pretty-printed JSON. */
    private static byte[] entry(String version) throws IOException {
        String json = "{" + version + "\"at\":\"" + NOW + "\",\"action\":\"BACKUP\",\"subject\":\"s\",\"detail\":\"d\","
                + "\"host\":\"h\",\"osUser\":\"u\",\"principal\":\"p\"}";
        return (new ObjectMapper().readTree(json).toPrettyString().replace("\r\n", "\n") + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void auditEntry_withoutAVersion_isReadAsFormatOne_andANewerOneIsReportedByNameAndVersion() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo")).withKeys(LocalKeysetKek.create(tmp.resolve("kek.json")));
        String old = RepositoryLayout.auditKey(NOW, "000001");
        String newer = RepositoryLayout.auditKey(NOW.plusMillis(1), "000002");
        repo.putRecord(old, "audit", ObjectKind.AUDIT, entry(""));
        repo.putRecord(newer, "audit", ObjectKind.AUDIT, entry("\"formatVersion\":2,"));

        AuditLog.Read read = AuditLog.builder(repo).clock(clock).host("h").osUser("u").principal("p").build().read(NOW.minusSeconds(1), NOW.plusSeconds(1));

        assertThat(read.entries()).extracting(AuditLog.Entry::subject).containsExactly("s");
        assertThat(read.tampered()).singleElement().satisfies(d -> {
            assertThat(d.key()).isEqualTo(newer);
            assertThat(d.reason()).contains("formatVersion 2");
        });
    }
}
