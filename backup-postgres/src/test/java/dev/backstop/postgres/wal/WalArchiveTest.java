package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.retention.LogSegment;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalArchiveTest {
    static final long SYSID = 7312345678901234567L;

    @TempDir
    Path tmp;
    Repository repo;
    KeyEncryptionKey kek;
    WalArchive archive;

    @BeforeEach
    void setUp() {
        repo = Repository.filesystem(tmp.resolve("repo"));
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        archive = WalArchive.builder(repo, SYSID).keys(kek).build();
    }

    /** A 16 MiB segment whose long page header says {@code sysid}, {@code tli} and its start LSN, then seeded noise. */
    static Path segment(Path dir, String name, long sysid, long seed) throws IOException {
        WalFile f = WalFile.parse(name);
        byte[] b = new byte[(int) WalFile.SEGMENT_BYTES];
        Random r = new Random(seed);
        for (int i = 64; i < 256 * 1024; i++) {
            b[i] = (byte) r.nextInt(8);
        }
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.putShort(0, (short) 0xD110);
        h.putInt(4, f.timeline());
        h.putLong(8, f.startLsn());
        h.putLong(24, sysid);
        Path p = dir.resolve(name + "-" + seed);
        Files.write(p, b);
        return p;
    }

    @Test
    void put_thenGet_restoresTheSegmentByteForByte() throws Exception {
        Path seg = segment(tmp, "000000010000000000000003", SYSID, 1);

        assertThat(archive.put(seg, "000000010000000000000003")).isEqualTo(WalArchive.PutResult.ARCHIVED);
        Path out = tmp.resolve("restored");
        assertThat(archive.get("000000010000000000000003", out)).isTrue();

        assertThat(Files.mismatch(seg, out)).isEqualTo(-1);
        assertThat(archive.files()).extracting(WalFile::name).containsExactly("000000010000000000000003");
        assertThat(Files.size(Path.of(tmp.resolve("repo").toString(), "wal", Long.toUnsignedString(SYSID), "00000001",
                "000000010000000000000003"))).isLessThan(WalFile.SEGMENT_BYTES / 4);
    }

    @Test
    void put_sameContentTwice_isAcceptedAsAlreadyArchived() throws Exception {
        Path seg = segment(tmp, "000000010000000000000003", SYSID, 1);
        archive.put(seg, "000000010000000000000003");

        assertThat(archive.put(seg, "000000010000000000000003")).isEqualTo(WalArchive.PutResult.ALREADY_ARCHIVED);
    }

    @Test
    void put_differentContentUnderArchivedName_isRefusedAndKeepsTheFirst() throws Exception {
        Path first = segment(tmp, "000000010000000000000003", SYSID, 1);
        Path second = segment(tmp, "000000010000000000000003", SYSID, 2);
        archive.put(first, "000000010000000000000003");

        assertThatThrownBy(() -> archive.put(second, "000000010000000000000003"))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("already archived");
        Path out = tmp.resolve("restored");
        archive.get("000000010000000000000003", out);
        assertThat(Files.mismatch(first, out)).isEqualTo(-1);
    }

    @Test
    void put_segmentOfAnotherCluster_isRefused() throws Exception {
        Path foreign = segment(tmp, "000000010000000000000003", 42L, 1);

        assertThatThrownBy(() -> archive.put(foreign, "000000010000000000000003"))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("system identifier").hasMessageContaining("42").hasMessageContaining("another cluster");
        assertThat(archive.files()).isEmpty();
    }

    @Test
    void put_segmentUnderTheWrongName_isRefused() throws Exception {
        Path seg = segment(tmp, "000000010000000000000003", SYSID, 1);

        assertThatThrownBy(() -> archive.put(seg, "000000010000000000000004"))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("timeline 1 at 0/3000000");
    }

    @Test
    void put_segmentWhoseHeaderNamesALaterTimeline_isRefused_butAnAncestorIsAccepted() throws Exception {
        Path fromTimeline2 = segment(tmp, "000000020000000000000003", SYSID, 1);
        Path fromTimeline1 = segment(tmp, "000000010000000000000003", SYSID, 1);

        assertThatThrownBy(() -> archive.put(fromTimeline2, "000000010000000000000003"))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("found timeline 2");
        assertThat(archive.put(fromTimeline1, "000000020000000000000003")).isEqualTo(WalArchive.PutResult.ARCHIVED);
    }

    @Test
    void put_badName_namesTheExpectedForm() throws Exception {
        Path seg = segment(tmp, "000000010000000000000003", SYSID, 1);

        assertThatThrownBy(() -> archive.put(seg, "pg_wal/xyz"))
                .isInstanceOf(BackupException.class).hasMessageContaining("'pg_wal/xyz'").hasMessageContaining("24 upper-case hex");
    }

    @Test
    void get_afterAByteOfStoredDataFlipped_failsAndWritesNothing() throws Exception {
        Path seg = segment(tmp, "000000010000000000000003", SYSID, 1);
        archive.put(seg, "000000010000000000000003");
        Path stored = tmp.resolve("repo/wal/" + Long.toUnsignedString(SYSID) + "/00000001/000000010000000000000003");
        byte[] b = Files.readAllBytes(stored);
        b[b.length / 2] ^= 1;
        Files.write(stored, b);
        Path out = tmp.resolve("restored");

        assertThatThrownBy(() -> archive.get("000000010000000000000003", out)).isInstanceOf(IntegrityException.class);
        assertThat(out).doesNotExist();
    }

    @Test
    void get_segmentAndMetadataCopiedUnderAnotherName_isRefusedNamingTheMetadata() throws Exception {
        archive.put(segment(tmp, "000000010000000000000003", SYSID, 1), "000000010000000000000003");
        archive.put(segment(tmp, "000000010000000000000004", SYSID, 2), "000000010000000000000004");
        Path dir = tmp.resolve("repo/wal/" + Long.toUnsignedString(SYSID) + "/00000001");
        Files.copy(dir.resolve("000000010000000000000003"), dir.resolve("000000010000000000000004"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(dir.resolve("000000010000000000000003.meta"), dir.resolve("000000010000000000000004.meta"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        assertThatThrownBy(() -> archive.get("000000010000000000000004", tmp.resolve("out")))
                .isInstanceOfSatisfying(IntegrityException.class, e -> assertThat(e.key())
                        .isEqualTo("wal/" + Long.toUnsignedString(SYSID) + "/00000001/000000010000000000000004.meta"))
                .hasMessageContaining("metadata authentication");
        assertThat(tmp.resolve("out")).doesNotExist();
    }

    @Test
    void get_metadataSwappedBetweenSegments_isRefusedNamingTheMetadata() throws Exception {
        archive.put(segment(tmp, "000000010000000000000003", SYSID, 1), "000000010000000000000003");
        archive.put(segment(tmp, "000000010000000000000004", SYSID, 2), "000000010000000000000004");
        Path dir = tmp.resolve("repo/wal/" + Long.toUnsignedString(SYSID) + "/00000001");
        Path m3 = dir.resolve("000000010000000000000003.meta");
        Path m4 = dir.resolve("000000010000000000000004.meta");
        byte[] three = Files.readAllBytes(m3);
        Files.write(m3, Files.readAllBytes(m4));
        Files.write(m4, three);

        for (String name : List.of("000000010000000000000003", "000000010000000000000004")) {
            assertThatThrownBy(() -> archive.get(name, tmp.resolve("out")))
                    .isInstanceOfSatisfying(IntegrityException.class, e -> assertThat(e.key()).endsWith(name + ".meta"));
        }
    }

    @Test
    void get_metadataWithItsAuthenticationRemoved_isRefusedNamingTheMetadata() throws Exception {
        archive.put(segment(tmp, "000000010000000000000003", SYSID, 1), "000000010000000000000003");
        Path dir = tmp.resolve("repo/wal/" + Long.toUnsignedString(SYSID) + "/00000001");
        Path meta = dir.resolve("000000010000000000000003.meta");
        String forged = Files.readString(meta).replaceAll(",\n  \"authentication\" : \"[^\"]*\"", "");
        assertThat(forged).doesNotContain("authentication").contains("\"transforms\"");
        Files.writeString(meta, forged);
        assertThatThrownBy(() -> archive.get("000000010000000000000003", tmp.resolve("out")))
                .isInstanceOfSatisfying(IntegrityException.class, e -> assertThat(e.key()).isEqualTo(
                        "wal/" + Long.toUnsignedString(SYSID) + "/00000001/000000010000000000000003.meta"))
                .hasMessageContaining("unauthenticated");
        assertThat(tmp.resolve("out")).doesNotExist();
    }

    @Test
    void afterKekRotation_rewrap_andDisablingTheRetiredKey_archivedWalStillRestores() throws Exception {
        Path kekFile = tmp.resolve("kek.json");
        Path seg = segment(tmp, "000000010000000000000003", SYSID, 1);
        archive.put(seg, "000000010000000000000003");
        LocalKeysetKek rotated = LocalKeysetKek.rotate(kekFile);
        dev.backstop.core.crypto.Encryption.with(rotated).rewrap(repo);
        LocalKeysetKek onlyNew = LocalKeysetKek.disableRetired(kekFile);

        WalArchive after = WalArchive.builder(repo, SYSID).keys(onlyNew).build();
        Path out = tmp.resolve("restored");
        assertThat(after.get("000000010000000000000003", out)).isTrue();
        assertThat(Files.mismatch(seg, out)).isEqualTo(-1);
    }

    @Test
    void get_missingFile_returnsFalse() {
        assertThat(archive.get("000000010000000000000009", tmp.resolve("out"))).isFalse();
    }

    @Test
    void segments_listRangesForRetention_andDeleteRemovesThem() throws Exception {
        archive.put(segment(tmp, "000000010000000000000003", SYSID, 1), "000000010000000000000003");
        Files.writeString(tmp.resolve("h"), "1\t0/4000000\tno recovery target specified\n");
        archive.put(tmp.resolve("h"), "00000002.history");

        List<LogSegment> segs = archive.segments();

        assertThat(segs).singleElement().satisfies(s -> {
            assertThat(s.range().stream()).isEqualTo("wal/" + Long.toUnsignedString(SYSID));
            assertThat(s.range().start()).isEqualTo(0x3000000L);
            assertThat(s.range().end()).isEqualTo(0x4000000L);
        });
        archive.delete(segs.get(0));
        assertThat(archive.contains("000000010000000000000003")).isFalse();
        assertThat(archive.contains("00000002.history")).isTrue();
    }

    @Test
    void withoutKeys_encryptedArchive_cannotBeRead_andSaysWhichKeyIsNeeded() throws Exception {
        archive.put(segment(tmp, "000000010000000000000003", SYSID, 1), "000000010000000000000003");
        WalArchive keyless = WalArchive.builder(repo, SYSID).build();

        assertThatThrownBy(() -> keyless.get("000000010000000000000003", tmp.resolve("out")))
                .isInstanceOf(BackupException.class).hasMessageContaining(kek.id());
    }

    @Test
    void walMetadataOfFormat2_isRefusedNamingItsFormatVersion_whileRetentionStillSeesTheSegment() throws Exception {
        archive.put(segment(tmp, "000000010000000000000003", SYSID, 1), "000000010000000000000003");
        // what an archiver of WAL metadata format 2 left: name=value lines and a mac line
        Path meta = tmp.resolve("repo/wal/" + Long.toUnsignedString(SYSID) + "/00000001/000000010000000000000003.meta");
        Files.writeString(meta, "archivedAt=2026-12-01T00:00:00Z\nformatVersion=2\nkekId=" + kek.id()
                + "\nname=000000010000000000000003\nplaintextSize=16777216\ntransforms=zstd(level=3),aead(AES256_GCM_HKDF_1MB)\n"
                + "mac=hmac-sha256:00:00\n");

        assertThatThrownBy(() -> archive.get("000000010000000000000003", tmp.resolve("out")))
                .isInstanceOfSatisfying(IntegrityException.class, e -> assertThat(e.key()).isEqualTo(
                        "wal/" + Long.toUnsignedString(SYSID) + "/00000001/000000010000000000000003.meta"))
                .hasMessageContaining("format 2").hasMessageContaining("format 3");
        assertThat(tmp.resolve("out")).doesNotExist();
        assertThat(archive.segments()).singleElement().satisfies(s -> assertThat(s.range().start()).isEqualTo(0x3000000L));
    }
}
