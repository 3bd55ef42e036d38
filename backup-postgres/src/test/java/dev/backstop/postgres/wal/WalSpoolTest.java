package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spool, the prefetch queue and their recovery point, as {@code backstop wal} drives them. */
class WalSpoolTest {
    static final long SYSID = WalArchiveTest.SYSID;
    static final String SEG = "000000010000000000000003";

    @TempDir
    Path tmp;
    WalArchive archive;
    final PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    @BeforeEach
    void setUp() {
        archive = WalArchive.builder(Repository.filesystem(tmp.resolve("repo")), SYSID)
                .keys(LocalKeysetKek.create(tmp.resolve("kek.json"))).build();
    }

    @Test
    void enqueue_onlyQueues_andDrainUploads() throws Exception {
        WalSpool spool = WalSpool.at(tmp.resolve("spool"));
        Path seg = WalArchiveTest.segment(tmp, SEG, SYSID, 1);

        spool.enqueue(seg, SEG);
        assertThat(archive.contains(SEG)).as("not uploaded before a drain").isFalse();
        assertThat(spool.queued()).containsExactly(SEG);

        assertThat(spool.drain(archive)).isEqualTo(1);

        assertThat(archive.contains(SEG)).isTrue();
        assertThat(spool.queued()).isEmpty();
    }

    @Test
    void aSegmentHeldOnlyAsDeltas_isServedAssembled_andThePrefetcherNeverQueuesIt() throws Exception {
        Path seg = WalArchiveTest.segment(tmp, SEG, SYSID, 1);
        try (FileChannel ch = FileChannel.open(seg)) {
            archive.putDelta(WalFile.parse(SEG), 0, 50_000, ch, null);
        }
        byte[] expected = new byte[(int) WalFile.SEGMENT_BYTES];
        System.arraycopy(Files.readAllBytes(seg), 0, expected, 0, 50_000);

        assertThat(archive.get(SEG, tmp.resolve("RECOVERYXLOG"))).isTrue();
        assertThat(Files.readAllBytes(tmp.resolve("RECOVERYXLOG"))).isEqualTo(expected);

        WalPrefetcher prefetcher = new WalPrefetcher(archive, tmp.resolve("queue"), 4, log);
        assertThat(prefetcher.prefetchAfter(WalFile.parse("000000010000000000000002"))).as("never queued").isZero();
        assertThat(prefetcher.serve(SEG, tmp.resolve("served"))).isEqualTo(WalPrefetcher.Source.REPOSITORY);
        assertThat(Files.readAllBytes(tmp.resolve("served"))).isEqualTo(expected);
    }

    @Test
    void spool_sameNameDifferentContent_isRefused() throws Exception {
        WalSpool spool = WalSpool.at(tmp.resolve("spool"));
        spool.enqueue(WalArchiveTest.segment(tmp, SEG, SYSID, 1), SEG);
        spool.enqueue(WalArchiveTest.segment(tmp, SEG, SYSID, 1), SEG);

        assertThatThrownBy(() -> spool.enqueue(WalArchiveTest.segment(tmp, SEG, SYSID, 2), SEG))
                .hasMessageContaining("different content");
    }

    @Test
    void prefetch_deletesFilesOutsideItsWindow_soStaleOrForeignFilesNeverLinger() throws Exception {
        archive.put(WalArchiveTest.segment(tmp, seg(60), SYSID, 60), seg(60));
        archive.put(WalArchiveTest.segment(tmp, seg(61), SYSID, 61), seg(61));
        Path queue = Files.createDirectories(tmp.resolve("queue"));
        Files.writeString(queue.resolve(seg(59)), "an old one");
        Files.writeString(queue.resolve(WalFile.segmentName(2, 61)), "another timeline");

        new WalPrefetcher(archive, queue, 3, log).prefetchAfter(WalFile.parse(seg(60)));

        try (var s = Files.list(queue)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock") && !n.endsWith(".log")))
                    .containsExactly(seg(61));
        }
    }

    @Test
    void corruptedQueuedFile_isDiscardedAndFetchedAgain_notServed() throws Exception {
        Path last = WalArchiveTest.segment(tmp, seg(52), SYSID, 52);
        for (int i = 50; i <= 52; i++) {
            archive.put(i == 52 ? last : WalArchiveTest.segment(tmp, seg(i), SYSID, i), seg(i));
        }
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        WalPrefetcher prefetcher = new WalPrefetcher(archive, tmp.resolve("queue"), 3,
                new PrintStream(said, true, StandardCharsets.UTF_8));
        prefetcher.prefetchAfter(WalFile.parse(seg(50)));
        Path queued = tmp.resolve("queue").resolve(seg(52));
        byte[] bytes = Files.readAllBytes(queued);
        bytes[100_000] ^= 1;
        Files.write(queued, bytes);

        Path target = tmp.resolve("RECOVERYXLOG");
        assertThat(prefetcher.serve(seg(52), target)).isEqualTo(WalPrefetcher.Source.REPOSITORY);

        assertThat(said.toString(StandardCharsets.UTF_8)).contains("discarded queued " + seg(52));
        assertThat(Files.mismatch(target, last)).isEqualTo(-1);
    }

    @Test
    void spoolRpo_separatesWhatIsArchivedFromWhatIsOnlySpooled() throws Exception {
        SyntheticWal archivedWal = new SyntheticWal(80 * WalFile.SEGMENT_BYTES).begin();
        archivedWal.commit(SyntheticWal.at(1));
        archivedWal.commit(SyntheticWal.at(2));
        SyntheticWal spooledWal = new SyntheticWal(81 * WalFile.SEGMENT_BYTES).begin();
        spooledWal.heap(500);
        spooledWal.commit(SyntheticWal.at(3));
        archive.put(asSegment(archivedWal, seg(80)), seg(80));
        WalSpool spool = WalSpool.at(tmp.resolve("spool"));
        spool.enqueue(asSegment(spooledWal, seg(81)), seg(81));
        Instant now = SyntheticWal.at(10);

        RpoStatus rpo = spool.rpo(archive, Clock.fixed(now, ZoneOffset.UTC));

        assertThat(rpo.archivedLsn()).isEqualTo(81 * WalFile.SEGMENT_BYTES);
        assertThat(rpo.archivedCommitTime()).isEqualTo(SyntheticWal.at(2));
        assertThat(rpo.localLsn()).isEqualTo(82 * WalFile.SEGMENT_BYTES);
        assertThat(rpo.lagBytes()).isEqualTo(WalFile.SEGMENT_BYTES);
        assertThat(rpo.serverLsn()).isEqualTo(-1);
        assertThat(rpo.oldestUnarchivedCommitTime()).isEqualTo(SyntheticWal.at(3));
        assertThat(rpo.lag()).isEqualTo(Duration.ofSeconds(7));

        spool.drain(archive);
        RpoStatus drained = spool.rpo(archive, Clock.fixed(now, ZoneOffset.UTC));
        assertThat(drained.caughtUp()).isTrue();
        assertThat(drained.archivedCommitTime()).isEqualTo(SyntheticWal.at(3));
        assertThat(WalSpool.rpo(archive, null, Clock.fixed(now, ZoneOffset.UTC)).toString())
                .contains("archived_lsn=0/52000000", "lag_bytes=0", "server_lsn=unknown");
    }

    static String seg(int n) {
        return WalFile.segmentName(1, n);
    }

    /** Synthetic WAL padded to a whole segment with the long header's system identifier set, as the archive checks. */
    Path asSegment(SyntheticWal w, String name) throws Exception {
        byte[] b = java.util.Arrays.copyOf(w.bytes(), (int) WalFile.SEGMENT_BYTES);
        java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(24, SYSID);
        Path p = tmp.resolve("synthetic-" + name);
        Files.write(p, b);
        return p;
    }
}
