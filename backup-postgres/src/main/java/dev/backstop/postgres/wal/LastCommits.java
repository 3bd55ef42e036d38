package dev.backstop.postgres.wal;

import dev.backstop.core.log.DeltaRun;
import dev.backstop.core.log.LogDelta;
import dev.backstop.core.log.LogObject;
import dev.backstop.core.log.LogStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** Finds the last commit time before a position from the archive's metadata, for the RPO view. */
final class LastCommits {
    private LastCommits() {
    }

    /**
     * The commit time of the last commit archived at or before {@code lsn}: from the metadata of
     * the segments in {@code restorable} archived whole and ending at or before it, and of the
     * deltas of those held only as deltas, up to the last delta of the gap-free run ending at or
     * before it. Newest segment first; looks back at most 64 segments. A segment's metadata is
     * what tells whether it is archived whole, so one listing serves.
     */
    static Optional<Instant> before(LogStore logs, List<WalFile> restorable, long lsn) {
        List<WalFile> candidates = new ArrayList<>();
        for (WalFile f : restorable) {
            if (f.kind() == WalFile.Kind.SEGMENT && Long.compareUnsigned(f.startLsn(), lsn) < 0) {
                candidates.add(f);
            }
        }
        candidates.sort(Comparator.comparingLong(WalFile::segmentNumber).thenComparingInt(WalFile::timeline).reversed());
        long seen = -1;
        int looked = 0;
        for (WalFile f : candidates) {
            if (f.segmentNumber() == seen) {
                continue; // the same stretch of WAL on an older timeline
            }
            seen = f.segmentNumber();
            if (looked++ == 64) {
                break;
            }
            Optional<LogObject> whole = logs.metadata(f.logFile());
            Optional<Instant> t = whole.isEmpty() ? inDeltas(logs, f, lsn)
                    : Long.compareUnsigned(f.endLsn(), lsn) <= 0 ? lastCommit(whole) : Optional.empty();
            if (t.isPresent()) {
                return t;
            }
        }
        return Optional.empty();
    }

    /** A delta records the last commit the receiver had seen when it went out, in it or before it. */
    private static Optional<Instant> inDeltas(LogStore logs, WalFile segment, long lsn) {
        List<LogDelta> chain = DeltaRun.of(logs.deltas(segment.logFile())).chain();
        for (int i = chain.size() - 1; i >= 0; i--) {
            LogDelta d = chain.get(i);
            if (Long.compareUnsigned(segment.startLsn() + d.to(), lsn) <= 0) {
                Optional<Instant> t = lastCommit(logs.metadata(d));
                if (t.isPresent()) {
                    return t;
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<Instant> lastCommit(Optional<LogObject> meta) {
        return meta.map(m -> m.attributes().get(WalArchive.LAST_COMMIT)).map(Instant::parse);
    }
}
