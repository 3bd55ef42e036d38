package dev.backstop.postgres.wal;

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
     * The commit time of the last commit in {@code files} (archived in {@code logs}) among segments
     * ending at or before {@code lsn}, newest first; looks back at most 64 segments.
     */
    static Optional<Instant> before(LogStore logs, List<WalFile> files, long lsn) {
        List<WalFile> candidates = new ArrayList<>();
        for (WalFile f : files) {
            if (f.kind() == WalFile.Kind.SEGMENT && Long.compareUnsigned(f.endLsn(), lsn) <= 0) {
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
            Optional<String> t = logs.metadata(f.logFile()).map(m -> m.attributes().get(WalArchive.LAST_COMMIT));
            if (t.isPresent()) {
                return Optional.of(Instant.parse(t.get()));
            }
        }
        return Optional.empty();
    }
}
