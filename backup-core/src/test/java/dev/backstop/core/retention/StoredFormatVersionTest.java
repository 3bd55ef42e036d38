package dev.backstop.core.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.BackupId;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.MutableClock;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.StorageTier;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Holds and expiry journals written before they carried a format version stay readable; newer ones are refused. */
class StoredFormatVersionTest {
    private static final BackupId ID = BackupId.parse("20261101T020000Z-logical-abc123");

    @TempDir
    Path tmp;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-21T03:00:00Z"));

    /** As records are stored: pretty-printed when they are JSON. */
    private static byte[] utf8(String s) throws IOException {
        String text = s.startsWith("{") ? new ObjectMapper().readTree(s).toPrettyString().replace("\r\n", "\n") + "\n" : s;
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void holds_writtenAsBareTextOrUnversionedJson_readAsFormatOne() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        BackupId other = BackupId.parse("20261102T020000Z-logical-def456");
        repo.putRecord(RepositoryLayout.holdKey(ID, RepositoryLayout.TIER), ID.value(), ObjectKind.STATE, utf8("COLD\n"));
        repo.putRecord(RepositoryLayout.holdKey(other, RepositoryLayout.TIER), other.value(), ObjectKind.STATE,
                utf8("{\"backupId\":\"" + other.value() + "\",\"what\":\"tier\",\"value\":\"WARM\"}"));

        assertThat(Holds.of(repo).tiers()).isEqualTo(Map.of(ID, StorageTier.COLD, other, StorageTier.WARM));
    }

    @Test
    void pin_ofANewerFormat_isRefused_namingTheRecordAndItsVersion() throws IOException {
        Repository keyed = Repository.filesystem(tmp.resolve("repo")).withKeys(LocalKeysetKek.create(tmp.resolve("kek.json")));
        String key = RepositoryLayout.holdKey(ID, RepositoryLayout.PIN);
        keyed.putRecord(key, ID.value(), ObjectKind.STATE,
                utf8("{\"formatVersion\":2,\"backupId\":\"" + ID.value() + "\",\"what\":\"pin\",\"value\":\"audit\"}"));

        assertThatThrownBy(() -> Holds.of(keyed).pinned()).isInstanceOf(IntegrityException.class)
                .hasMessageContaining(key).hasMessageContaining("formatVersion 2");
    }

    @Test
    void pin_writtenWithoutAVersion_isReadAsFormatOne_inAKeyedView() throws IOException {
        Repository keyed = Repository.filesystem(tmp.resolve("repo")).withKeys(LocalKeysetKek.create(tmp.resolve("kek.json")));
        keyed.putRecord(RepositoryLayout.holdKey(ID, RepositoryLayout.PIN), ID.value(), ObjectKind.STATE,
                utf8("{\"backupId\":\"" + ID.value() + "\",\"what\":\"pin\",\"value\":\"audit\"}"));

        assertThat(Holds.of(keyed).pinned()).containsExactly(ID);
    }

    /** A backup whose manifest an interrupted expiry already deleted: its data object is left. */
    private Manifest halfDeleted(Repository repo) throws IOException {
        CaptureSource source = new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.LOGICAL;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream out = streams.open("dump")) {
                    out.write(new byte[100]);
                }
                return CaptureResult.builder(SourceInfo.of("test", "1")).build();
            }
        };
        Manifest m = BackupPipeline.builder().source(source).repository(repo).noEncryption().clock(clock).pipelining(false)
                .build().run();
        repo.sink().delete(Repository.manifestKey(m.id()));
        return m;
    }

    private Expiry expiry(Repository repo) {
        return Expiry.builder().repository(repo).planner(RetentionPlanner.of(RetentionPolicy.keepLast(1))).clock(clock)
                .holder("test").build();
    }

    @Test
    void expiryJournal_writtenOneIdALine_isResumed() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = halfDeleted(repo);
        repo.putRecord(RepositoryLayout.expiryJournalKey(clock.instant(), "old"), "", ObjectKind.STATE, utf8(m.id().value() + "\n"));

        ExpiryReport report = expiry(repo).run();

        assertThat(report.resumed()).containsExactly(m.id());
        assertThat(repo.sink().list(RepositoryLayout.backupPrefix(m.id()))).isEmpty();
        assertThat(repo.sink().list(RepositoryLayout.EXPIRY_JOURNALS)).isEmpty();
    }

    @Test
    void expiryJournal_ofANewerFormat_stopsTheRun_namingItAndItsVersion_andDeletesNothing() throws IOException {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = halfDeleted(repo);
        String key = RepositoryLayout.expiryJournalKey(clock.instant(), "new");
        repo.putRecord(key, "", ObjectKind.STATE, utf8("{\"formatVersion\":9,\"backups\":[\"" + m.id().value() + "\"]}"));

        assertThatThrownBy(() -> expiry(repo).run()).isInstanceOf(IntegrityException.class)
                .hasMessageContaining(key).hasMessageContaining("formatVersion 9");
        assertThat(repo.sink().list(RepositoryLayout.backupPrefix(m.id()))).hasSize(1);
    }
}
