package dev.backstop.postgres.wal;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * How much committed work would be lost if this host and the database disappeared now: what the
 * repository holds, what is still local, and how far behind the server that is. From {@link
 * WalReceiver#rpo()} (streaming) and {@link WalSpool#rpo(WalArchive, java.time.Clock)} ({@code archive_command}).
 *
 * <p><b>Granularity.</b> A {@link WalReceiver} archives the segment being received as delta objects
 * every {@link WalReceiver.Builder#deltaInterval delta interval} (default 200 ms), so {@link
 * #archivedLsn()} moves inside a segment and a commit is in the repository about one interval plus
 * one upload after the server flushed it; recovery to latest replays those deltas. With {@link
 * WalReceiver.Builder#noDeltas()}, and on the {@code archive_command} path, the repository holds
 * whole 16 MiB segments only: {@code archivedLsn} is then a segment boundary, under steady load the
 * lag is about the time the server takes to fill one segment, and on an idle server the tail of
 * the current segment waits for the next segment switch ({@code archive_timeout}, or {@code
 * pg_switch_wal()}).
 *
 * <p><b>Commit times</b> come from the commit records in the WAL itself, not from the server's
 * clock at query time or {@code track_commit_timestamp}, so they are exactly what recovery to a
 * time compares against.
 *
 * @param archivedLsn              the end of the WAL stored in the repository without a gap, as whole segments or
 *                                 deltas of the unfinished one (0 if nothing yet)
 * @param archivedCommitTime       the commit time of the last commit at or before {@code archivedLsn}, or null if
 *                                 none is known (nothing archived, or no commit in the newest archived segments)
 * @param localLsn                 the end of the WAL held durably on local disk: received and fsynced (receiver) or
 *                                 spooled (archive_command); at least {@code archivedLsn}
 * @param serverLsn                the server's WAL flush position when last polled, or -1 where it cannot be known
 *                                 (the archive_command path has no connection to the server)
 * @param lagBytes                 WAL written by the server (or spooled) but not in the repository:
 *                                 {@code max(serverLsn, localLsn) - archivedLsn}, never negative
 * @param oldestUnarchivedCommitTime the commit time of the oldest commit seen but not yet in the repository, or null
 * @param lag                      {@code observedAt - oldestUnarchivedCommitTime}: how long the oldest committed but
 *                                 unarchived transaction has been exposed; {@link Duration#ZERO} when every commit
 *                                 seen is archived
 * @param observedAt               when this view was taken
 */
public record RpoStatus(long archivedLsn, Instant archivedCommitTime, long localLsn, long serverLsn, long lagBytes,
                        Instant oldestUnarchivedCommitTime, Duration lag, Instant observedAt) {
    public RpoStatus {
        Objects.requireNonNull(lag, "lag");
        Objects.requireNonNull(observedAt, "observedAt");
        if (lagBytes < 0 || lag.isNegative()) {
            throw new IllegalArgumentException("lag: got " + lagBytes + " bytes / " + lag + ", must not be negative");
        }
    }

    /** Whether everything seen is in the repository: no bytes and no commits waiting. */
    public boolean caughtUp() {
        return lagBytes == 0 && lag.isZero();
    }

    /** {@code key=value} pairs, LSNs as PostgreSQL prints them. */
    @Override
    public String toString() {
        return "archived_lsn=" + WalFile.formatLsn(archivedLsn) + " archived_commit_time=" + archivedCommitTime
                + " local_lsn=" + WalFile.formatLsn(localLsn) + " server_lsn=" + (serverLsn < 0 ? "unknown" : WalFile.formatLsn(serverLsn))
                + " lag_bytes=" + lagBytes + " lag_ms=" + lag.toMillis() + " oldest_unarchived_commit_time=" + oldestUnarchivedCommitTime
                + " observed_at=" + observedAt;
    }
}
