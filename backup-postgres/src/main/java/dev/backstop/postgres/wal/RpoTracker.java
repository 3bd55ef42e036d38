package dev.backstop.postgres.wal;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The receiver's RPO bookkeeping: the commits seen per segment until that segment is archived.
 * Only the first and last commit of each waiting segment are kept, which is all the view needs
 * as long as the repository stores whole segments; memory is bounded by the segments in flight.
 *
 * <p>Thread-safe: the stream, the uploader and the position poller report from their own threads.
 */
final class RpoTracker {
    private record Commits(Instant first, Instant last) {
    }

    private final TreeMap<Long, Commits> waiting = new TreeMap<>();
    private long archivedLsn;
    private Instant archivedCommit;
    private long localLsn;
    private long serverLsn = -1;

    /** Streaming (re)starts at {@code start}: commits from there on will be seen again. */
    synchronized void streaming(long start, Instant archivedCommitIfKnown) {
        archivedLsn = Math.max(archivedLsn, start);
        localLsn = Math.max(localLsn, start);
        waiting.tailMap(Long.divideUnsigned(start, WalFile.SEGMENT_BYTES)).clear();
        if (archivedCommit == null) {
            archivedCommit = archivedCommitIfKnown;
        }
    }

    synchronized boolean knowsArchivedCommit() {
        return archivedCommit != null;
    }

    synchronized void received(long lsn) {
        localLsn = Math.max(localLsn, lsn);
    }

    synchronized void commit(long endLsn, Instant time) {
        // a commit ending exactly at a boundary is in the segment before it
        long seg = Long.divideUnsigned(endLsn - 1, WalFile.SEGMENT_BYTES);
        waiting.merge(seg, new Commits(time, time), (a, b) -> new Commits(a.first, b.last));
    }

    synchronized void archived(WalFile segment) {
        archivedLsn = Math.max(archivedLsn, segment.endLsn());
        SortedMap<Long, Commits> done = waiting.headMap(segment.segmentNumber() + 1);
        for (Map.Entry<Long, Commits> e : done.entrySet()) {
            archivedCommit = e.getValue().last;
        }
        done.clear();
    }

    synchronized void serverPosition(long lsn) {
        serverLsn = lsn;
    }

    synchronized RpoStatus view(Instant now) {
        Instant oldest = waiting.isEmpty() ? null : waiting.firstEntry().getValue().first;
        Duration lag = oldest == null || oldest.isAfter(now) ? Duration.ZERO : Duration.between(oldest, now);
        long lagBytes = Math.max(0, Math.max(serverLsn, localLsn) - archivedLsn);
        return new RpoStatus(archivedLsn, archivedCommit, Math.max(localLsn, archivedLsn), serverLsn, lagBytes, oldest, lag, now);
    }
}
