package dev.backstop.postgres.wal;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;

/**
 * The receiver's RPO bookkeeping: the commits seen but not yet in the repository. Commits arrive
 * in WAL order and are grouped by hand-over: every time WAL up to some LSN goes to the uploader
 * (a delta or a whole segment) the commits seen since the last hand-over form one group ending
 * there, and when the repository holds WAL up to that LSN the group is archived. Only the first
 * and last commit time of a group are kept, which is all the view needs, so memory is bounded by
 * the uploads in flight, not by the number of commits.
 *
 * <p>Thread-safe: the stream, the uploader and the position poller report from their own threads.
 */
final class RpoTracker {
    private record Group(long end, Instant first, Instant last) {
    }

    private final ArrayDeque<Group> handedOver = new ArrayDeque<>();
    private Instant openFirst;
    private Instant openLast;
    private long archivedLsn;
    private Instant archivedCommit;
    private long localLsn;
    private long serverLsn = -1;

    /**
     * Streaming (re)starts at {@code start} with the repository holding WAL up to {@code archived}:
     * commits from {@code start} on will be seen again.
     */
    synchronized void streaming(long start, long archived, Instant archivedCommitIfKnown) {
        archivedLsn = Math.max(archivedLsn, archived);
        localLsn = Math.max(localLsn, start);
        handedOver.clear();
        openFirst = null;
        openLast = null;
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
        if (endLsn <= archivedLsn) {
            archivedCommit = time; // seen again after a restart, and archived before it
            return;
        }
        if (openFirst == null) {
            openFirst = time;
        }
        openLast = time;
    }

    /** WAL up to {@code lsn} went to the uploader: the commits seen so far are archived once it is. */
    synchronized void handedOver(long lsn) {
        if (openFirst != null) {
            handedOver.add(new Group(lsn, openFirst, openLast));
            openFirst = null;
            openLast = null;
        }
    }

    /** The repository holds WAL up to {@code lsn}. */
    synchronized void archived(long lsn) {
        archivedLsn = Math.max(archivedLsn, lsn);
        while (!handedOver.isEmpty() && handedOver.peekFirst().end <= archivedLsn) {
            archivedCommit = handedOver.pollFirst().last;
        }
    }

    synchronized void serverPosition(long lsn) {
        serverLsn = lsn;
    }

    synchronized RpoStatus view(Instant now) {
        Instant oldest = !handedOver.isEmpty() ? handedOver.peekFirst().first : openFirst;
        Duration lag = oldest == null || oldest.isAfter(now) ? Duration.ZERO : Duration.between(oldest, now);
        long lagBytes = Math.max(0, Math.max(serverLsn, localLsn) - archivedLsn);
        return new RpoStatus(archivedLsn, archivedCommit, Math.max(localLsn, archivedLsn), serverLsn, lagBytes, oldest, lag, now);
    }
}
