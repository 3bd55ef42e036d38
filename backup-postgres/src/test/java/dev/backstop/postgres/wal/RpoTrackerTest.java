package dev.backstop.postgres.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RpoTrackerTest {
    static final long SEG = WalFile.SEGMENT_BYTES;
    static final Instant T0 = Instant.parse("2026-11-21T10:00:00Z");

    static Instant t(int millis) {
        return T0.plusMillis(millis);
    }

    @Test
    void aDeltaArchivesTheCommitsHandedOverWithIt_notTheOnesSeenAfter() {
        RpoTracker r = new RpoTracker();
        r.streaming(SEG, SEG, null);
        r.commit(SEG + 100, t(0));
        r.commit(SEG + 200, t(10));
        r.handedOver(SEG + 300);
        r.commit(SEG + 400, t(20));

        RpoStatus waiting = r.view(t(100));
        assertThat(waiting.oldestUnarchivedCommitTime()).isEqualTo(t(0));
        assertThat(waiting.lag()).isEqualTo(Duration.ofMillis(100));

        r.archived(SEG + 300);
        RpoStatus after = r.view(t(100));
        assertThat(after.archivedLsn()).isEqualTo(SEG + 300);
        assertThat(after.archivedCommitTime()).isEqualTo(t(10));
        assertThat(after.oldestUnarchivedCommitTime()).isEqualTo(t(20));
        assertThat(after.lag()).isEqualTo(Duration.ofMillis(80));
    }

    @Test
    void aWholeSegmentArchivesEveryGroupHandedOverUpToItsEnd() {
        RpoTracker r = new RpoTracker();
        r.streaming(SEG, SEG, null);
        r.commit(SEG + 100, t(0));
        r.handedOver(SEG + 150);
        r.commit(SEG + 200, t(10));
        r.handedOver(2 * SEG);

        r.archived(2 * SEG);
        RpoStatus s = r.view(t(50));
        assertThat(s.archivedCommitTime()).isEqualTo(t(10));
        assertThat(s.lag()).isZero();
        assertThat(s.oldestUnarchivedCommitTime()).isNull();
    }

    @Test
    void afterARestart_commitsSeenAgainInsideTheArchivedDeltas_countAsArchived() {
        RpoTracker r = new RpoTracker();
        r.streaming(SEG, SEG + 500, t(-1000));
        r.commit(SEG + 100, t(0));
        r.commit(SEG + 400, t(10));
        r.commit(SEG + 600, t(20));

        RpoStatus s = r.view(t(30));
        assertThat(s.archivedLsn()).isEqualTo(SEG + 500);
        assertThat(s.archivedCommitTime()).isEqualTo(t(10));
        assertThat(s.oldestUnarchivedCommitTime()).isEqualTo(t(20));
    }

    @Test
    void handingOverWithoutCommits_keepsNoGroup() {
        RpoTracker r = new RpoTracker();
        r.streaming(0, 0, null);
        r.handedOver(100);
        r.archived(100);
        assertThat(r.view(t(0)).caughtUp()).isTrue();
        assertThat(r.view(t(0)).archivedCommitTime()).isNull();
    }
}
