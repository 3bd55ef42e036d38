package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupId;
import dev.backstop.mysql.physical.BinlogPoint;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What one point-in-time recovery did.
 *
 * @param backup          the backup recovered forward
 * @param from            the backup's binlog point, where the replay started
 * @param reached         the binlog position after the last transaction replayed, and the GTID position the
 *                        target holds
 * @param transactions    transactions (event groups) in the replayed range
 * @param lastTransaction the time stamped on the last one (whole seconds), null if none was replayed
 * @param files           the binlog files replayed, in order
 * @param binlogBytes     bytes of binlog fetched
 * @param fetch           the time to fetch, verify and scan the binlogs
 * @param restore         the time to restore the backup (into a throwaway server: including its start)
 * @param replay          the time of the replay
 */
public record RecoveryReport(BackupId backup, BinlogPoint from, BinlogPoint reached, long transactions, Instant lastTransaction,
                             List<String> files, long binlogBytes, Duration fetch, Duration restore, Duration replay) {
    public RecoveryReport {
        Objects.requireNonNull(backup, "backup");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(reached, "reached");
        files = List.copyOf(files);
        Objects.requireNonNull(fetch, "fetch");
        Objects.requireNonNull(restore, "restore");
        Objects.requireNonNull(replay, "replay");
    }

    static RecoveryReport of(BinlogReplay r, Duration restore, Duration replay) {
        return new RecoveryReport(r.backup(), r.from(), r.reached(), r.transactions(), r.lastTransactionTime().orElse(null),
                r.files(), r.bytes(), r.fetchTime(), restore, replay);
    }

    /** The recovery time: fetch, restore and replay. */
    public Duration total() {
        return fetch.plus(restore).plus(replay);
    }
}
