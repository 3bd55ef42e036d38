package dev.backstop.core.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.ConsistencyPoint;
import dev.backstop.core.DataSize;
import dev.backstop.core.Digest;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.LogRange;
import dev.backstop.core.Repository;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.manifest.EncryptionInfo;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ManifestFormatTest {
    static Manifest sample() {
        BackupId id = BackupId.generate(Instant.parse("2026-11-21T03:15:00Z"), BackupType.PHYSICAL, new Random(1));
        return Manifest.builder(id)
                .startedAt(Instant.parse("2026-11-21T03:15:00Z"))
                .finishedAt(Instant.parse("2026-11-21T03:16:30.250Z"))
                .parent(BackupId.generate(Instant.parse("2026-11-20T03:15:00Z"), BackupType.PHYSICAL, new Random(2)))
                .source(new SourceInfo("postgresql", "15.19", Map.of("systemIdentifier", "7312")))
                .consistency(ConsistencyPoint.of(Map.of("lsn", "0/3000028", "timeline", "1")))
                .requiredLogs(new LogRange("wal/7312", 0x3000028L, 0x3000100L))
                .fingerprints(new Fingerprints("s1", Map.of("public.a", new TableFingerprint(3, "h"))))
                .encryption(new EncryptionInfo("AES256_GCM_HKDF_1MB", "local:1", "keys/" + id + ".dek"))
                .addObject(new StoredObject("base.tar", Repository.dataKey(id, "base.tar"), 100, Digest.sha256(new byte[1]), 50,
                        Digest.sha256(new byte[2]), List.of(new TransformSpec("zstd", Map.of("level", "3")))))
                .labels(Map.of("env", "prod"))
                .build();
    }

    @Test
    void writeThenRead_givesTheSameManifest_andTheSameBytes() {
        Manifest m = sample();
        byte[] bytes = ManifestFormat.write(m);
        Manifest back = ManifestFormat.read(bytes, "k");
        assertThat(back).isEqualTo(m);
        assertThat(ManifestFormat.write(back)).isEqualTo(bytes);
        assertThat(back.requiredLogs()).isEqualTo(m.requiredLogs());
        assertThat(back.parent()).isEqualTo(m.parent());
        assertThat(back.duration().toMillis()).isEqualTo(90_250);
    }

    @Test
    void manifest_isReadableJson_endingInItsOwnChecksum() {
        String text = new String(ManifestFormat.write(sample()), StandardCharsets.UTF_8);
        assertThat(text).startsWith("{\n  \"formatVersion\" : 2,").contains("\"status\" : \"complete\"")
                .containsPattern("\"manifestSha256\" : \"[0-9a-f]{64}\"\n}\n$");
    }

    @Test
    void newerFormatVersion_isRefusedWithTheVersionNamed() {
        String text = new String(ManifestFormat.write(sample()), StandardCharsets.UTF_8);
        String body = text.substring(0, text.indexOf(",\n  \"manifestSha256\"")) + "\n}";
        String edited = body.replace("\"formatVersion\" : 2", "\"formatVersion\" : 9");
        String resummed = edited.substring(0, edited.length() - 2) + ",\n  \"manifestSha256\" : \""
                + Digest.sha256(edited.getBytes(StandardCharsets.UTF_8)).hex() + "\"\n}\n";
        assertThatThrownBy(() -> ManifestFormat.read(resummed.getBytes(StandardCharsets.UTF_8), "backups/x/manifest.json"))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("formatVersion 9 is not readable");
    }

    @Test
    void backupIds_sortByTime_andRoundTrip() {
        BackupId a = BackupId.generate(Instant.parse("2026-01-01T00:00:00Z"), BackupType.LOGICAL, new Random(1));
        BackupId b = BackupId.generate(Instant.parse("2026-01-01T00:00:01Z"), BackupType.LOGICAL, new Random(1));
        assertThat(a).isLessThan(b);
        assertThat(a.value()).matches("20260101T000000Z-logical-[a-z0-9]{6}");
        assertThat(BackupId.parse(a.value()).timestamp()).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(a.type()).isEqualTo(BackupType.LOGICAL);
        assertThatThrownBy(() -> BackupId.parse("../etc")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected yyyyMMddTHHmmssZ");
    }

    @Test
    void dataSizes_parseAndPrint() {
        assertThat(DataSize.parse("64MiB")).isEqualTo(DataSize.ofMiB(64));
        assertThat(DataSize.parse("512 KiB").bytes()).isEqualTo(512 * 1024);
        assertThat(DataSize.parse("7").bytes()).isEqualTo(7);
        assertThat(DataSize.ofMiB(64).toString()).isEqualTo("64.0 MiB");
        assertThatThrownBy(() -> DataSize.parse("64MB")).hasMessageContaining("got '64MB'");
    }

    @Test
    void fingerprintDifferences_nameTableExpectedAndFound() {
        Fingerprints expected = new Fingerprints("s", Map.of("public.a", new TableFingerprint(3, "h1"),
                "public.b", new TableFingerprint(1, "x")));
        Fingerprints actual = new Fingerprints("s2", Map.of("public.a", new TableFingerprint(4, "h2"),
                "public.c", new TableFingerprint(0, "y")));
        assertThat(expected.differencesFrom(actual)).containsExactly(
                "schema: expected hash s, found s2",
                "table public.a: expected 3 rows, found 4",
                "table public.b: expected 1 rows, table is missing",
                "table public.c: not in the backup, found 0 rows");
        assertThat(expected.differencesFrom(expected)).isEmpty();
    }

    @Test
    void objectProofs_roundTrip_andDifferencesNameObjectAndAttribute() {
        Manifest base = sample();
        Fingerprints expected = new Fingerprints("s", Map.of(), Map.of(
                "trigger public.orders.audit_trg", "def:0a1b",
                "sequence public.orders_id_seq", "def:77 last_value=1843 is_called=true",
                "column public.t.c", "type:11 default:22",
                "table public.t", "def:33 persistence=permanent"));
        Manifest m = Manifest.builder(base.id()).startedAt(base.startedAt()).finishedAt(base.finishedAt())
                .source(base.source()).consistency(base.consistency()).fingerprints(expected).build();
        assertThat(ManifestFormat.read(ManifestFormat.write(m), "k").fingerprints()).contains(expected);

        Fingerprints actual = new Fingerprints("other", Map.of(), Map.of(
                "sequence public.orders_id_seq", "def:77 last_value=1 is_called=true",
                "column public.t.c", "type:11 default:23",
                "table public.t", "def:33 persistence=unlogged",
                "index public.extra_idx", "def:44"));
        assertThat(expected.differencesFrom(actual)).containsExactly(
                "column public.t.c: default differs",
                "index public.extra_idx: not in the backup",
                "sequence public.orders_id_seq: expected last_value 1843, found 1",
                "table public.t: expected persistence permanent, found unlogged",
                "trigger public.orders.audit_trg: missing");
        assertThat(expected.differencesFrom(new Fingerprints("other", Map.of(), expected.objects()))).isEmpty();
    }
}
