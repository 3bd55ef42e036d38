package dev.backstop.core.internal.layout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.Fingerprints;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.Repository;
import dev.backstop.core.StorageException;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.crypto.LocalKeysetKek;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PointRecordsTest {
    private static final String STREAM = "binlog/server-7";
    private static final Map<String, String> OWNER = Map.of("serverId", "7");

    @TempDir
    Path tmp;
    Repository keyed;
    PointRecord point;

    @BeforeEach
    void setUp() throws Exception {
        keyed = Repository.filesystem(tmp.resolve("repo")).withKeys(LocalKeysetKek.create(tmp.resolve("kek.json")));
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("serverId", "7");
        fields.put("binlogFile", "binlog.000003");
        Fingerprints shop = new Fingerprints("sha256:aa", Map.of("marker", new TableFingerprint(1, "xxh64:01")),
                Map.of("view v", "definition:bb"));
        point = new PointRecord("before-release", fields, Instant.parse("2026-12-07T09:00:00Z"), Map.of("shop", shop));
    }

    Path stored(String name) {
        return tmp.resolve("repo").resolve(RepositoryLayout.restorePointKey(STREAM, name));
    }

    @Test
    void put_thenRead_returnsThePoint_andTheFieldsInTheirOrder() {
        String key = PointRecords.put(keyed, STREAM, point);

        assertThat(key).isEqualTo("points/binlog/server-7/before-release.json");
        assertThat(PointRecords.exists(keyed, STREAM, "before-release")).isTrue();
        assertThat(PointRecords.read(keyed, STREAM, "before-release", "checkpoint", OWNER)).hasValue(point);
        assertThat(PointRecords.read(keyed, STREAM, "before-release", "checkpoint", OWNER).orElseThrow().fields().keySet())
                .containsExactly("serverId", "binlogFile");
    }

    @Test
    void read_ofANameNeverRecorded_isEmpty() {
        assertThat(PointRecords.exists(keyed, STREAM, "never")).isFalse();
        assertThat(PointRecords.read(keyed, STREAM, "never", "checkpoint", OWNER)).isEmpty();
    }

    @Test
    void put_ofANameRecordedAlready_isRefused_andKeepsTheFirst() {
        PointRecords.put(keyed, STREAM, point);
        PointRecord second = new PointRecord(point.name(), point.fields(), point.createdAt().plusSeconds(1), Map.of());

        assertThatThrownBy(() -> PointRecords.put(keyed, STREAM, second)).isInstanceOf(StorageException.class)
                .hasRootCauseInstanceOf(ObjectExistsException.class);
        assertThat(PointRecords.read(keyed, STREAM, "before-release", "checkpoint", OWNER)).hasValue(point);
    }

    @Test
    void read_ofAnEditedRecord_isRefusedNamingItsKey() throws Exception {
        PointRecords.put(keyed, STREAM, point);
        Path p = stored("before-release");
        Files.writeString(p, Files.readString(p).replace("\"rows\" : 1", "\"rows\" : 2"));

        assertThatThrownBy(() -> PointRecords.read(keyed, STREAM, "before-release", "checkpoint", OWNER))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("points/binlog/server-7/before-release.json");
    }

    @Test
    void read_ofARecordCopiedToAnotherName_isRefusedNamingTheCopy_keyedOrNot() throws Exception {
        PointRecords.put(keyed, STREAM, point);
        Files.copy(stored("before-release"), stored("moved"));

        assertThatThrownBy(() -> PointRecords.read(keyed, STREAM, "moved", "checkpoint", OWNER))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("points/binlog/server-7/moved.json");
        Repository keyless = Repository.filesystem(tmp.resolve("repo"));
        assertThatThrownBy(() -> PointRecords.read(keyless, STREAM, "moved", "checkpoint", OWNER))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("points/binlog/server-7/moved.json")
                .hasMessageContaining("checkpoint record owner");
    }

    @Test
    void read_ofARecordOfAnotherServer_isRefusedByItsFields() {
        Repository keyless = Repository.filesystem(tmp.resolve("repo"));
        PointRecords.put(keyless, STREAM, point);

        assertThatThrownBy(() -> PointRecords.read(keyless, STREAM, "before-release", "checkpoint", Map.of("serverId", "8")))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("expected 'before-release' {serverId=8}")
                .hasMessageContaining("found 'before-release' {serverId=7}");
    }

    @Test
    void read_ofARecordOfAnUnknownFormat_isRefusedNamingTheKeyAndVersion() throws Exception {
        Repository keyless = Repository.filesystem(tmp.resolve("repo"));
        PointRecords.put(keyless, STREAM, point);
        Path p = stored("before-release");
        Files.writeString(p, Files.readString(p, StandardCharsets.UTF_8).replace("\"formatVersion\" : 1", "\"formatVersion\" : 9"));

        assertThatThrownBy(() -> PointRecords.read(keyless, STREAM, "before-release", "checkpoint", OWNER))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("before-release.json").hasMessageContaining("9");
    }

    @Test
    void aFieldNamedLikeTheRecordsOwn_isRefused() {
        assertThatThrownBy(() -> new PointRecord("p", Map.of("name", "x"), Instant.EPOCH, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'name'");
    }
}
