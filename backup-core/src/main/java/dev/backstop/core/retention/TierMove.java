package dev.backstop.core.retention;

import dev.backstop.core.BackupId;
import dev.backstop.core.StorageTier;
import java.util.Objects;

/** A kept backup whose age calls for a colder storage tier. */
public record TierMove(BackupId backup, StorageTier from, StorageTier to, String reason) {
    public TierMove {
        Objects.requireNonNull(backup, "backup");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(reason, "reason");
        if (to.compareTo(from) <= 0) {
            throw new IllegalArgumentException("tier move of " + backup + ": got " + from + " -> " + to + ", moves only go colder");
        }
    }
}
