package dev.backstop.core.retention;

import dev.backstop.core.BackupId;
import dev.backstop.core.DataSize;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What an expiry run did: what it deleted, what it skipped and why, what it finished of an
 * earlier interrupted run, and the plan it executed. Immutable.
 *
 * @param plan           the plan made under the lock
 * @param deletedBackups backups whose manifest and objects are gone
 * @param deletedLogs    log segments deleted
 * @param movedTiers     tier moves carried out (empty without a {@link TierMover})
 * @param skipped        objects left in place, each with the reason (object lock, ...)
 * @param resumed        backups whose deletion an interrupted run had begun and this run finished
 * @param bytesFreed     stored bytes of deleted backups and segments
 */
public record ExpiryReport(RetentionPlan plan, List<BackupId> deletedBackups, List<LogSegment> deletedLogs,
                           List<TierMove> movedTiers, List<Skip> skipped, List<BackupId> resumed, long bytesFreed) {
    /** An object retention wanted gone but left in place. */
    public record Skip(String key, String reason) {
        public Skip {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(reason, "reason");
        }
    }

    public ExpiryReport {
        Objects.requireNonNull(plan, "plan");
        deletedBackups = List.copyOf(deletedBackups);
        deletedLogs = List.copyOf(deletedLogs);
        movedTiers = List.copyOf(movedTiers);
        skipped = List.copyOf(skipped);
        resumed = List.copyOf(resumed);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "expiry: deleted %d backups and %d log segments (%s), moved %d, skipped %d, resumed %d",
                deletedBackups.size(), deletedLogs.size(), DataSize.ofBytes(bytesFreed), movedTiers.size(), skipped.size(),
                resumed.size());
    }
}
