package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.IntegrityException;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.retention.LogSegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalArchiveDeltaTest {
    static final long SYSID = WalArchiveTest.SYSID;
    static final String SEG = "000000010000000000000003";
    static final WalFile FILE = WalFile.parse(SEG);

    @TempDir
    Path tmp;
    Repository repo;
    WalArchive archive;
    Path segment;

    @BeforeEach
    void setUp() throws Exception {
        repo = Repository.filesystem(tmp.resolve("repo"));
        archive = WalArchive.builder(repo, SYSID).keys(LocalKeysetKek.create(tmp.resolve("kek.json"))).build();
        segment = WalArchiveTest.segment(tmp, SEG, SYSID, 1);
    }

    long putDelta(WalArchive a, long from, long to) throws Exception {
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            return a.putDelta(FILE, from, to, ch, null);
        }
    }

    Path stored(String range) {
        return tmp.resolve("repo/wal/" + Long.toUnsignedString(SYSID) + "/00000001/" + SEG + ".deltas/" + range);
    }

    byte[] prefixThenZeros(long length) throws Exception {
        byte[] expected = new byte[(int) WalFile.SEGMENT_BYTES];
        byte[] all = Files.readAllBytes(segment);
        System.arraycopy(all, 0, expected, 0, (int) length);
        return expected;
    }

    @Test
    void get_ofASegmentHeldOnlyAsDeltas_assemblesThePrefixAndZeroFillsTheRest() throws Exception {
        assertThat(putDelta(archive, 0, 100_000)).isPositive();
        putDelta(archive, 100_000, 100_001);
        putDelta(archive, 100_001, 300_000);

        Path out = tmp.resolve("out");
        assertThat(archive.get(SEG, out)).isTrue();

        assertThat(Files.size(out)).isEqualTo(WalFile.SEGMENT_BYTES);
        assertThat(Files.readAllBytes(out)).isEqualTo(prefixThenZeros(300_000));
        assertThat(archive.deltaEnd(FILE)).isEqualTo(300_000);
    }

    @Test
    void lastCommitBefore_readsTheDeltasOfAnUnfinishedSegment_upToTheGivenPosition() throws Exception {
        Instant first = Instant.parse("2026-01-01T00:00:01.000001Z");
        Instant second = Instant.parse("2026-01-01T00:00:02.000002Z");
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            archive.putDelta(FILE, 0, 8192, ch, first);
            archive.putDelta(FILE, 8192, 16384, ch, second);
            archive.putDelta(FILE, 16384, 24576, ch, null); // no commit seen yet by a restarted writer
        }

        assertThat(archive.lastCommitBefore(Long.MAX_VALUE)).contains(second);
        assertThat(archive.lastCommitBefore(FILE.startLsn() + 16384)).contains(second);
        assertThat(archive.lastCommitBefore(FILE.startLsn() + 16383)).contains(first);
        assertThat(archive.lastCommitBefore(FILE.startLsn() + 8191)).isEmpty();
    }

    @Test
    void lastCommitBefore_prefersTheWholeSegment_overItsLeftoverDeltas() throws Exception {
        Instant early = Instant.parse("2026-01-01T00:00:01Z");
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            archive.putDelta(FILE, 0, 8192, ch, early);
        }
        archive.put(segment, SEG); // the synthetic segment holds no commit record

        assertThat(archive.lastCommitBefore(Long.MAX_VALUE)).isEmpty();
    }

    @Test
    void deltas_areNotWholeFiles_butAreRestorable() throws Exception {
        putDelta(archive, 0, 8192);

        assertThat(archive.files()).isEmpty();
        assertThat(archive.contains(SEG)).isFalse();
        assertThat(archive.restorable()).containsExactly(FILE);
    }

    @Test
    void get_prefersTheWholeSegment_andSupersededDeltasAreDeleted() throws Exception {
        putDelta(archive, 0, 8192);
        archive.put(segment, SEG);

        Path out = tmp.resolve("out");
        archive.get(SEG, out);
        assertThat(Files.mismatch(out, segment)).isEqualTo(-1L);
        assertThat(archive.restorable()).containsExactly(FILE);

        assertThat(archive.deleteSupersededDeltas()).isEqualTo(2);
        assertThat(archive.deltas(FILE)).isEmpty();
        assertThat(repo.sink().list("wal/")).extracting(o -> o.key().substring(o.key().lastIndexOf('/') + 1))
                .containsExactly(SEG, SEG + ".meta");
    }

    @Test
    void aFlippedByteInADelta_isDetected_andNothingIsServed() throws Exception {
        putDelta(archive, 0, 100_000);
        putDelta(archive, 100_000, 200_000);
        Path data = stored("000186A0-00030D40");
        byte[] b = Files.readAllBytes(data);
        b[b.length / 2] ^= 1;
        Files.write(data, b);

        Path out = tmp.resolve("out");
        assertThatThrownBy(() -> archive.get(SEG, out)).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("000186A0-00030D40");
        assertThat(out).doesNotExist();
    }

    @Test
    void deltasSwappedWithTheirMetadata_failToDecrypt() throws Exception {
        putDelta(archive, 0, 100_000);
        putDelta(archive, 100_000, 200_000);
        swap(stored("00000000-000186A0"), stored("000186A0-00030D40"));
        swap(stored("00000000-000186A0.meta"), stored("000186A0-00030D40.meta"));

        assertThatThrownBy(() -> archive.get(SEG, tmp.resolve("out"))).isInstanceOf(IntegrityException.class);
        assertThat(tmp.resolve("out")).doesNotExist();
    }

    @Test
    void deltasSwappedWithTheirMetadata_inAnUnencryptedArchive_areCaughtByTheMetadataName() throws Exception {
        WalArchive plain = WalArchive.builder(repo, SYSID).build();
        putDelta(plain, 0, 100_000);
        putDelta(plain, 100_000, 200_000);
        swap(stored("00000000-000186A0"), stored("000186A0-00030D40"));
        swap(stored("00000000-000186A0.meta"), stored("000186A0-00030D40.meta"));

        assertThatThrownBy(() -> plain.get(SEG, tmp.resolve("out"))).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("metadata of another object");
    }

    @Test
    void aSwappedDataObject_isDetectedByItsStoredSizeOrDigest_namingTheDelta() throws Exception {
        WalArchive plain = WalArchive.builder(repo, SYSID).build();
        putDelta(plain, 0, 100_000);
        putDelta(plain, 100_000, 200_000);
        swap(stored("00000000-000186A0"), stored("000186A0-00030D40"));

        assertThatThrownBy(() -> plain.get(SEG, tmp.resolve("out"))).isInstanceOf(IntegrityException.class)
                .hasMessageMatching(".*000000010000000000000003\\.deltas/00000000-000186A0: stored (size|SHA-256).*");
    }

    @Test
    void aMissingMiddleDelta_isAGap_andNothingIsServed() throws Exception {
        putDelta(archive, 0, 100_000);
        putDelta(archive, 100_000, 200_000);
        putDelta(archive, 200_000, 300_000);
        Files.delete(stored("000186A0-00030D40.meta"));
        Files.delete(stored("000186A0-00030D40"));

        assertThatThrownBy(() -> archive.get(SEG, tmp.resolve("out"))).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("a delta is missing").hasMessageContaining("00030D40-000493E0");
        assertThat(tmp.resolve("out")).doesNotExist();
    }

    @Test
    void aMissingFirstDelta_isAGap() throws Exception {
        putDelta(archive, 0, 100_000);
        putDelta(archive, 100_000, 200_000);
        Files.delete(stored("00000000-000186A0.meta"));

        assertThatThrownBy(() -> archive.get(SEG, tmp.resolve("out"))).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("a delta is missing");
        assertThat(archive.deltaEnd(FILE)).isZero();
    }

    @Test
    void putDelta_sameRangeAndBytesTwice_isAccepted_otherBytesAreRefused() throws Exception {
        putDelta(archive, 0, 100_000);
        assertThat(putDelta(archive, 0, 100_000)).isZero();

        Path other = WalArchiveTest.segment(tmp, SEG, SYSID, 2);
        try (FileChannel ch = FileChannel.open(other, StandardOpenOption.READ)) {
            assertThatThrownBy(() -> archive.putDelta(FILE, 0, 100_000, ch, null)).isInstanceOf(IntegrityException.class)
                    .hasMessageContaining("refusing to replace");
        }
    }

    @Test
    void putDelta_atOffsetZeroOfAnotherCluster_isRefused() throws Exception {
        Path foreign = WalArchiveTest.segment(tmp, SEG, 42L, 1);
        try (FileChannel ch = FileChannel.open(foreign, StandardOpenOption.READ)) {
            assertThatThrownBy(() -> archive.putDelta(FILE, 0, 100_000, ch, Instant.EPOCH)).isInstanceOf(IntegrityException.class)
                    .hasMessageContaining("another cluster");
        }
        assertThat(archive.deltas(FILE)).isEmpty();
    }

    @Test
    void retention_seesASegmentHeldAsDeltasAsOneSegmentOfItsPrefix_andDeletesAllItsDeltas() throws Exception {
        WalFile next = FILE.next();
        Path whole = WalArchiveTest.segment(tmp, next.name(), SYSID, 3);
        archive.put(whole, next.name());
        putDelta(archive, 0, 100_000);
        putDelta(archive, 100_000, 200_000);

        List<LogSegment> segs = archive.segments();
        assertThat(segs).hasSize(2);
        LogSegment partial = segs.stream().filter(s -> s.key().endsWith(".deltas/")).findFirst().orElseThrow();
        assertThat(partial.range().start()).isEqualTo(FILE.startLsn());
        assertThat(partial.range().end()).isEqualTo(FILE.startLsn() + 200_000);
        assertThat(partial.bytes()).isPositive();

        archive.delete(partial);
        assertThat(archive.deltas(FILE)).isEmpty();
        assertThat(archive.files()).containsExactly(next);
        assertThat(archive.restorable()).containsExactly(next);
    }

    static void swap(Path a, Path b) throws Exception {
        Path t = a.resolveSibling("swap-tmp");
        Files.move(a, t, StandardCopyOption.ATOMIC_MOVE);
        Files.move(b, a, StandardCopyOption.ATOMIC_MOVE);
        Files.move(t, b, StandardCopyOption.ATOMIC_MOVE);
        assertThat(Arrays.asList(a, b)).allSatisfy(p -> assertThat(p).exists());
    }
}
