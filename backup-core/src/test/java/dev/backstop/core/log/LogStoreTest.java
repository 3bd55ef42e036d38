package dev.backstop.core.log;

import static dev.backstop.core.log.FakeEngine.NAMING;
import static dev.backstop.core.log.FakeEngine.STREAM;
import static dev.backstop.core.log.FakeEngine.bytes;
import static dev.backstop.core.log.FakeEngine.file;
import static dev.backstop.core.log.FakeEngine.put;
import static dev.backstop.core.log.FakeEngine.putDelta;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.retention.LogSegment;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The log archive on a filesystem repository with an engine that is no database. */
class LogStoreTest {
    @TempDir
    Path tmp;
    Path kekFile;
    LocalKeysetKek kek;
    Repository repo;
    LogStore logs;
    Path dir;

    @BeforeEach
    void setUp() {
        kekFile = tmp.resolve("kek.json");
        kek = LocalKeysetKek.create(kekFile);
        repo = Repository.filesystem(tmp.resolve("repo"));
        logs = LogStore.builder(repo, STREAM, NAMING).keys(kek).build();
        dir = tmp.resolve("repo").resolve(STREAM).resolve("1");
    }

    static byte[] read(LogStore logs, LogFile f) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(logs.read(f, out)).as(f.name() + " archived").isTrue();
        return out.toByteArray();
    }

    @Test
    void put_thenRead_returnsTheBytes_andTheMetadataRecordsFormatTransformsSizesAndDigests() throws Exception {
        byte[] b = bytes(1, 200_000);

        assertThat(put(logs, file(1), b)).isEqualTo(LogStore.PutResult.ARCHIVED);

        assertThat(read(logs, file(1))).isEqualTo(b);
        LogObject m = logs.metadata(file(1)).orElseThrow();
        assertThat(m.key()).isEqualTo("fake/41/1/file-000001");
        assertThat(m.plaintextSize()).isEqualTo(200_000);
        assertThat(m.plaintextSha256()).isEqualTo(dev.backstop.core.Digest.sha256(b));
        assertThat(m.storedSize()).isEqualTo(Files.size(dir.resolve("file-000001"))).isLessThan(200_000);
        assertThat(m.storedSha256()).isEqualTo(dev.backstop.core.Digest.sha256(Files.readAllBytes(dir.resolve("file-000001"))));
        assertThat(m.transforms()).extracting(t -> t.id()).containsExactly("zstd", "aead");
        assertThat(m.keyRecord()).startsWith(STREAM + "/");
        assertThat(m.attributes()).containsEntry("origin", "test");
        String json = Files.readString(dir.resolve("file-000001.meta"));
        assertThat(json).contains("\"formatVersion\" : 3").contains("\"authentication\" : \"hmac-sha256:");
        assertThat(tmp.resolve("repo/keys").resolve(m.keyRecord() + ".dek")).exists();
    }

    @Test
    void put_sameContentAgain_isAlreadyArchived_andOtherContentIsRefusedKeepingTheFirst() throws Exception {
        byte[] b = bytes(1, 10_000);
        put(logs, file(1), b);

        assertThat(put(logs, file(1), b)).isEqualTo(LogStore.PutResult.ALREADY_ARCHIVED);
        assertThatThrownBy(() -> put(logs, file(1), bytes(2, 10_000))).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo("fake/41/1/file-000001")).hasMessageContaining("refusing to replace");
        assertThat(read(logs, file(1))).isEqualTo(b);
    }

    @Test
    void put_ofBytesOtherThanAnnounced_storesNothing() {
        byte[] b = bytes(1, 10_000);

        assertThatThrownBy(() -> logs.put(file(1), () -> new java.io.ByteArrayInputStream(b), b.length,
                dev.backstop.core.Digest.sha256(bytes(2, 10_000)), java.util.Map.of()))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("changed while it was being archived");
        assertThat(logs.files()).isEmpty();
        assertThat(dir.resolve("file-000001")).doesNotExist();
    }

    @Test
    void read_ofDataAndMetadataCopiedUnderAnotherName_isRefusedNamingTheMetadata() throws Exception {
        put(logs, file(1), bytes(1, 10_000));
        put(logs, file(2), bytes(2, 10_000));
        Files.copy(dir.resolve("file-000001"), dir.resolve("file-000002"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(dir.resolve("file-000001.meta"), dir.resolve("file-000002.meta"), StandardCopyOption.REPLACE_EXISTING);

        assertThatThrownBy(() -> read(logs, file(2))).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo("fake/41/1/file-000002.meta")).hasMessageContaining("metadata authentication");
    }

    @Test
    void read_ofMetadataSwappedBetweenTwoFiles_refusesBothNamingEachMetadata() throws Exception {
        put(logs, file(1), bytes(1, 10_000));
        put(logs, file(2), bytes(2, 10_000));
        byte[] one = Files.readAllBytes(dir.resolve("file-000001.meta"));
        Files.write(dir.resolve("file-000001.meta"), Files.readAllBytes(dir.resolve("file-000002.meta")));
        Files.write(dir.resolve("file-000002.meta"), one);

        for (int n : new int[] {1, 2}) {
            assertThatThrownBy(() -> read(logs, file(n))).isInstanceOfSatisfying(IntegrityException.class,
                    e -> assertThat(e.key()).isEqualTo("fake/41/1/" + file(n).name() + ".meta"));
        }
    }

    @Test
    void read_ofEditedMetadata_isRefusedNamingIt() throws Exception {
        put(logs, file(1), bytes(1, 10_000));
        Path meta = dir.resolve("file-000001.meta");
        Files.writeString(meta, Files.readString(meta).replace("\"plaintextSize\" : 10000", "\"plaintextSize\" : 9999"));

        assertThatThrownBy(() -> read(logs, file(1))).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo("fake/41/1/file-000001.meta")).hasMessageContaining("metadata authentication");
    }

    @Test
    void read_ofAFlippedStoredByte_isRefusedNamingTheDataObject() throws Exception {
        put(logs, file(1), bytes(1, 100_000));
        Path data = dir.resolve("file-000001");
        byte[] b = Files.readAllBytes(data);
        b[b.length / 2] ^= 1;
        Files.write(data, b);

        assertThatThrownBy(() -> read(logs, file(1))).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo("fake/41/1/file-000001"));
    }

    @Test
    void read_ofTruncatedData_isRefusedNamingTheDataObject() throws Exception {
        put(logs, file(1), bytes(1, 100_000));
        Path data = dir.resolve("file-000001");
        byte[] b = Files.readAllBytes(data);
        Files.write(data, java.util.Arrays.copyOf(b, b.length - 7));

        assertThatThrownBy(() -> read(logs, file(1))).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo("fake/41/1/file-000001"));
    }

    @Test
    void read_withAnotherKek_isRefusedAtTheKeyStage() throws Exception {
        put(logs, file(1), bytes(1, 10_000));
        LogStore stranger = LogStore.builder(repo, STREAM, NAMING).keys(LocalKeysetKek.create(tmp.resolve("other.json"))).build();

        assertThatThrownBy(() -> read(stranger, file(1))).isInstanceOfSatisfying(BackupException.class,
                e -> assertThat(e.stage()).isEqualTo(Stage.KEY));
    }

    @Test
    void read_whenTheDataKeyRecordIsReplacedByAnotherStreamsRecord_isRefusedNamingTheRecord() throws Exception {
        put(logs, file(1), bytes(1, 10_000));
        LogStore other = LogStore.builder(repo, "fake/42", NAMING).keys(kek).build();
        put(other, file(1), bytes(1, 10_000));
        String mine = logs.metadata(file(1)).orElseThrow().keyRecord();
        String theirs = other.metadata(file(1)).orElseThrow().keyRecord();
        Files.copy(tmp.resolve("repo/keys/" + theirs + ".dek"), tmp.resolve("repo/keys/" + mine + ".dek"),
                StandardCopyOption.REPLACE_EXISTING);
        LogStore fresh = LogStore.builder(repo, STREAM, NAMING).keys(kek).build();

        assertThatThrownBy(() -> read(fresh, file(1))).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo("keys/" + mine + ".dek"));
    }

    @Test
    void withoutKeys_anEncryptedArchiveSaysWhichKekItNeeds() throws Exception {
        put(logs, file(1), bytes(1, 10_000));
        LogStore keyless = LogStore.builder(repo, STREAM, NAMING).build();

        assertThatThrownBy(() -> read(keyless, file(1))).isInstanceOf(BackupException.class).hasMessageContaining(kek.id());
    }

    @Test
    void metadataOfAnEarlierFormat_isRefusedNamingItsFormatVersion() throws Exception {
        put(logs, file(1), bytes(1, 10_000));
        Files.writeString(dir.resolve("file-000001.meta"), "formatVersion=2\nname=file-000001\nmac=hmac-sha256:0:00\n");

        assertThatThrownBy(() -> read(logs, file(1))).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo("fake/41/1/file-000001.meta")).hasMessageContaining("format 2");
    }

    @Test
    void gaps_nameTheFilesAroundMissingPositions_perEpoch() {
        for (int n : new int[] {1, 2, 5, 6, 9}) {
            put(logs, file(n), bytes(n, 100));
        }
        put(logs, NAMING.parse("start.note"), bytes(0, 10));

        assertThat(logs.gaps()).extracting(g -> g.after().name() + ".." + g.before().name())
                .containsExactly("file-000002..file-000005", "file-000006..file-000009");
        assertThat(logs.gaps().get(0).start()).isEqualTo(3 * FakeEngine.SPAN);
        assertThat(logs.gaps().get(0).end()).isEqualTo(5 * FakeEngine.SPAN);
        assertThat(logs.files()).extracting(LogFile::name)
                .containsExactly("file-000001", "file-000002", "file-000005", "file-000006", "file-000009", "start.note");
    }

    @Test
    void deltas_serveTheUnfinishedFile_untilTheWholeFileSupersedesThem() throws Exception {
        byte[] whole = bytes(3, 30_000);
        assertThat(putDelta(logs, file(3), whole, 0, 10_000)).isPositive();
        putDelta(logs, file(3), whole, 10_000, 25_000);
        assertThat(putDelta(logs, file(3), whole, 10_000, 25_000)).as("the same range again").isZero();

        assertThat(logs.files()).isEmpty();
        assertThat(logs.restorable()).containsExactly(file(3));
        assertThat(logs.deltaEnd(file(3))).isEqualTo(25_000);
        ByteArrayOutputStream prefix = new ByteArrayOutputStream();
        assertThat(logs.readDeltas(file(3), prefix)).isEqualTo(25_000);
        assertThat(prefix.toByteArray()).isEqualTo(java.util.Arrays.copyOf(whole, 25_000));
        assertThat(logs.segments()).singleElement().satisfies(s -> {
            assertThat(s.range().start()).isEqualTo(3 * FakeEngine.SPAN);
            assertThat(s.key()).endsWith(".deltas/");
        });

        put(logs, file(3), whole);
        assertThat(logs.segments()).as("deltas beside the whole file are not listed").singleElement()
                .satisfies(s -> assertThat(s.key()).isEqualTo("fake/41/1/file-000003"));
        assertThat(logs.deleteSupersededDeltas()).isEqualTo(4);
        assertThat(logs.deltas(file(3))).isEmpty();
        assertThat(read(logs, file(3))).isEqualTo(whole);
    }

    @Test
    void deltas_withOneMissing_areAGap_andNothingIsServed() throws Exception {
        byte[] whole = bytes(3, 30_000);
        putDelta(logs, file(3), whole, 0, 10_000);
        putDelta(logs, file(3), whole, 10_000, 20_000);
        putDelta(logs, file(3), whole, 20_000, 30_000);
        Files.delete(dir.resolve("file-000003.deltas/00002710-00004E20.meta"));

        assertThat(logs.deltaEnd(file(3))).isEqualTo(10_000);
        assertThatThrownBy(() -> logs.readDeltas(file(3), new ByteArrayOutputStream()))
                .isInstanceOfSatisfying(IntegrityException.class, e -> assertThat(e.key()).isEqualTo("fake/41/1/file-000003.deltas/"))
                .hasMessageContaining("00004E20-00007530");
    }

    @Test
    void deltas_swappedWithTheirMetadata_areRefusedNamingTheMetadata() throws Exception {
        byte[] whole = bytes(3, 30_000);
        putDelta(logs, file(3), whole, 0, 10_000);
        putDelta(logs, file(3), whole, 10_000, 20_000);
        Path d = dir.resolve("file-000003.deltas");
        Path a = d.resolve("00000000-00002710.meta");
        Path b = d.resolve("00002710-00004E20.meta");
        byte[] first = Files.readAllBytes(a);
        Files.write(a, Files.readAllBytes(b));
        Files.write(b, first);

        assertThatThrownBy(() -> logs.readDeltas(file(3), new ByteArrayOutputStream()))
                .isInstanceOfSatisfying(IntegrityException.class, e -> assertThat(e.key()).isEqualTo("fake/41/1/file-000003.deltas/"
                        + "00000000-00002710.meta"));
    }

    @Test
    void segments_listPositionedFilesWithTheirRanges_andDeleteRemovesMetadataAndData() throws Exception {
        put(logs, file(1), bytes(1, 100));
        put(logs, file(2), bytes(2, 100));
        put(logs, NAMING.parse("start.note"), bytes(0, 10));

        List<LogSegment> segs = logs.segments();

        assertThat(segs).extracting(s -> s.range().start() + "-" + s.range().end()).containsExactlyInAnyOrder("500-1000", "1000-1500");
        assertThat(segs).allSatisfy(s -> assertThat(s.range().stream()).isEqualTo(STREAM));
        logs.delete(segs.stream().filter(s -> s.range().start() == 500).findFirst().orElseThrow());
        assertThat(logs.files()).extracting(LogFile::name).containsExactly("file-000002", "start.note");
        assertThat(dir.resolve("file-000001")).doesNotExist();
        assertThat(dir.resolve("file-000001.meta")).doesNotExist();
    }

    @Test
    void afterKekRotation_rewrapReachesTheLogDataKeys_andTheRetiredKekIsNotNeeded() throws Exception {
        byte[] b = bytes(1, 50_000);
        put(logs, file(1), b);
        LocalKeysetKek rotated = LocalKeysetKek.rotate(kekFile);
        Encryption.with(rotated).rewrap(repo);
        LocalKeysetKek onlyNew = LocalKeysetKek.disableRetired(kekFile);

        String record = logs.metadata(file(1)).orElseThrow().keyRecord();
        assertThat(Files.readString(tmp.resolve("repo/keys/" + record + ".dek"))).contains(rotated.id());
        assertThat(read(LogStore.builder(repo, STREAM, NAMING).keys(onlyNew).build(), file(1))).isEqualTo(b);
    }

    @Test
    void replicate_copiesEveryObjectAsStored_resumes_andRefusesToSpreadACorruptedPrimary() throws Exception {
        byte[] one = bytes(1, 50_000);
        byte[] three = bytes(3, 30_000);
        put(logs, file(1), one);
        putDelta(logs, file(3), three, 0, 10_000);
        Repository replica = Repository.filesystem(tmp.resolve("replica"));
        dev.backstop.core.replication.Replication replication = dev.backstop.core.replication.Replication.from(repo).to("dr", replica).build();

        LogReplica.Copied first = logs.replicate(replication).get("dr");

        assertThat(first.copied()).isEqualTo(3); // the key records, the file, the delta
        LogStore there = LogStore.builder(replica, STREAM, NAMING).keys(kek).build();
        assertThat(read(there, file(1))).isEqualTo(one);
        ByteArrayOutputStream prefix = new ByteArrayOutputStream();
        assertThat(there.readDeltas(file(3), prefix)).isEqualTo(10_000);
        assertThat(LogReplica.copy(logs, replica)).isEqualTo(new LogReplica.Copied(0, 2, 0));

        put(logs, file(2), bytes(2, 50_000));
        Path data = dir.resolve("file-000002");
        byte[] b = Files.readAllBytes(data);
        b[10] ^= 1;
        Files.write(data, b);
        assertThatThrownBy(() -> LogReplica.copy(logs, replica)).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo("fake/41/1/file-000002"));
        assertThat(tmp.resolve("replica").resolve(STREAM).resolve("1/file-000002")).doesNotExist();
    }

    @Test
    void builder_refusesABadStreamAndASettingGivenTwice() {
        assertThatThrownBy(() -> LogStore.builder(repo, "no-slash", NAMING)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("<kind>/<id>");
        assertThatThrownBy(() -> LogStore.builder(repo, STREAM, NAMING).compressionLevel(3).compressionLevel(4))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("already set");
    }
}
