package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CommitScannerTest {
    static final long SEG_START = 3 * WalFile.SEGMENT_BYTES;

    record Seen(long endLsn, Instant time) {
    }

    static List<Seen> scan(long start, byte[] wal, int chunk) {
        List<Seen> seen = new ArrayList<>();
        CommitScanner s = new CommitScanner(start, (lsn, t) -> seen.add(new Seen(lsn, t)));
        for (int off = 0; off < wal.length; off += chunk) {
            s.feed(ByteBuffer.wrap(wal, off, Math.min(chunk, wal.length - off)));
        }
        return seen;
    }

    @Test
    void commits_areFoundWithTheirTimeAndEndLsn_andOtherRecordsAreNot() {
        SyntheticWal w = new SyntheticWal(SEG_START).begin();
        w.heap(100);
        long c1 = w.commit(SyntheticWal.at(1));
        w.abort(SyntheticWal.at(2));
        w.heap(3000);
        long c2 = w.commitWithOrigin(SyntheticWal.at(3));

        assertThat(scan(SEG_START, w.bytes(), w.bytes().length))
                .containsExactly(new Seen(c1, SyntheticWal.at(1)), new Seen(c2, SyntheticWal.at(3)));
    }

    @Test
    void commitsAcrossPageBoundaries_headerSplitOrDataSplit_areFound() {
        SyntheticWal w = new SyntheticWal(SEG_START).begin();
        w.fillToPageEndMinus(8);
        long split = w.commit(SyntheticWal.at(1)); // 8 header bytes on one page, the rest on the next
        w.fillToPageEndMinus(32);
        long dataSplit = w.commit(SyntheticWal.at(2)); // header whole, commit time on the next page
        w.heap(20_000); // runs across several pages
        long after = w.commit(SyntheticWal.at(3));

        assertThat(scan(SEG_START, w.bytes(), w.bytes().length)).containsExactly(new Seen(split, SyntheticWal.at(1)),
                new Seen(dataSplit, SyntheticWal.at(2)), new Seen(after, SyntheticWal.at(3)));
    }

    @Test
    void anyChunking_findsTheSameCommits() {
        SyntheticWal w = new SyntheticWal(SEG_START).begin();
        Random r = new Random(42);
        for (int i = 0; i < 300; i++) {
            if (r.nextInt(3) == 0) {
                w.commit(SyntheticWal.at(i));
            } else {
                w.heap(32 + r.nextInt(9000));
            }
        }
        List<Seen> whole = scan(SEG_START, w.bytes(), w.bytes().length);

        assertThat(whole).hasSizeGreaterThan(50);
        for (int chunk : new int[] {1, 7, 24, 8192, 8193}) {
            assertThat(scan(SEG_START, w.bytes(), chunk)).as("chunks of %d", chunk).isEqualTo(whole);
        }
    }

    @Test
    void startingInTheMiddleOfARecord_findsItsFootingAtTheNextPage() {
        SyntheticWal w = new SyntheticWal(SEG_START).begin();
        w.heap(20_000);
        long c = w.commit(SyntheticWal.at(5));
        byte[] all = w.bytes();
        int from = 5000; // inside the long record, not at a page start
        byte[] tail = java.util.Arrays.copyOfRange(all, from, all.length);

        assertThat(scan(SEG_START + from, tail, 100)).containsExactly(new Seen(c, SyntheticWal.at(5)));
    }

    @Test
    void zerosAfterASegmentSwitch_andNoise_yieldNoCommits_andScanningResumesOnTheNextGoodPage() {
        SyntheticWal w = new SyntheticWal(SEG_START).begin();
        long c1 = w.commit(SyntheticWal.at(1));
        w.zerosToPageEnd();
        long c2 = w.commit(SyntheticWal.at(2));
        byte[] good = w.bytes();
        byte[] noise = new byte[3 * 8192];
        new Random(7).nextBytes(noise);

        assertThat(scan(SEG_START, good, 64)).containsExactly(new Seen(c1, SyntheticWal.at(1)), new Seen(c2, SyntheticWal.at(2)));
        assertThat(scan(SEG_START, noise, 64)).isEmpty();
    }
}
