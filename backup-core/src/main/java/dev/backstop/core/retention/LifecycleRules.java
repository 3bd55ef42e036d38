package dev.backstop.core.retention;

import dev.backstop.core.StorageTier;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Storage lifecycle rules for a {@link TierSchedule}, in a form a tiered sink translates to its
 * own (the S3 module to {@code BucketLifecycleConfiguration} transitions). Ages are whole days,
 * as lifecycle rules count them.
 *
 * <p><b>Guarantees.</b> The rules only move objects between tiers; they never expire anything,
 * even when the schedule has a {@code deleteAfter}. A lifecycle expiration would delete data
 * behind retention's back, leaving manifests that point to nothing and logs a kept backup needs;
 * deleting stays with {@link Expiry}, which keeps chains whole.
 */
public final class LifecycleRules {
    /**
     * One rule: data objects under {@code prefix} move to {@code tier} {@code days} after creation.
     * Only {@link dev.backstop.core.ObjectKind#DATA} objects: the sink must exclude manifests and
     * validation records (for example by an object tag it puts on data objects only), because
     * listing the catalog reads them and an archive tier cannot be read without a restore.
     */
    public record Transition(String prefix, int days, StorageTier tier) {
        public Transition {
            Objects.requireNonNull(prefix, "prefix");
            Objects.requireNonNull(tier, "tier");
            if (days < 1) {
                throw new IllegalArgumentException("lifecycle transition to " + tier + ": got " + days + " days, must be >= 1");
            }
        }
    }

    private LifecycleRules() {
    }

    /**
     * Transitions for backup data ({@code backups/}) following {@code schedule}. Ages that are not
     * whole days are rounded up, so an object never moves earlier than the schedule says.
     */
    public static List<Transition> forBackups(TierSchedule schedule) {
        List<Transition> out = new ArrayList<>();
        for (TierSchedule.Step s : schedule.steps()) {
            long days = s.age().toDays() + (s.age().minusDays(s.age().toDays()).isZero() ? 0 : 1);
            out.add(new Transition(RepositoryLayout.TIERED, (int) Math.max(1, days), s.tier()));
        }
        return List.copyOf(out);
    }
}
