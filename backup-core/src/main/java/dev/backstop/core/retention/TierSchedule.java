package dev.backstop.core.retention;

import dev.backstop.core.StorageTier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Age-based storage tiers for backups: for example hot for 30 days, warm until 90, cold until
 * 365, then delete. Ages count from the backup's finish time. Immutable.
 *
 * <pre>{@code
 * TierSchedule s = TierSchedule.startingIn(StorageTier.HOT)
 *     .then(StorageTier.WARM, Duration.ofDays(30))
 *     .then(StorageTier.COLD, Duration.ofDays(90))
 *     .deleteAfter(Duration.ofDays(365));
 * }</pre>
 */
public final class TierSchedule {
    /** One move: at {@code age}, objects go to {@code tier}. */
    public record Step(Duration age, StorageTier tier) {
        public Step {
            Objects.requireNonNull(age, "age");
            Objects.requireNonNull(tier, "tier");
        }
    }

    private final StorageTier initial;
    private final List<Step> steps;
    private final Duration deleteAfter;

    private TierSchedule(StorageTier initial, List<Step> steps, Duration deleteAfter) {
        this.initial = initial;
        this.steps = List.copyOf(steps);
        this.deleteAfter = deleteAfter;
    }

    /** A schedule whose backups are written to {@code tier}. */
    public static TierSchedule startingIn(StorageTier tier) {
        return new TierSchedule(Objects.requireNonNull(tier, "tier"), List.of(), null);
    }

    /** Adds a move to {@code tier} at {@code age}, which must be later than the previous move. */
    public TierSchedule then(StorageTier tier, Duration age) {
        if (deleteAfter != null) {
            throw new IllegalStateException("then: schedule already ends with deleteAfter " + deleteAfter);
        }
        Duration last = steps.isEmpty() ? Duration.ZERO : steps.get(steps.size() - 1).age();
        if (age.compareTo(last) <= 0) {
            throw new IllegalArgumentException("tier age: got " + age + " for " + tier + ", must be after " + last);
        }
        StorageTier prev = steps.isEmpty() ? initial : steps.get(steps.size() - 1).tier();
        if (tier.compareTo(prev) <= 0) {
            throw new IllegalArgumentException("tier: got " + tier + " after " + prev + ", tiers must get colder");
        }
        List<Step> next = new ArrayList<>(steps);
        next.add(new Step(age, tier));
        return new TierSchedule(initial, next, null);
    }

    /** Ends the schedule: objects older than {@code age} may be deleted (retention still decides). */
    public TierSchedule deleteAfter(Duration age) {
        Duration last = steps.isEmpty() ? Duration.ZERO : steps.get(steps.size() - 1).age();
        if (age.compareTo(last) <= 0) {
            throw new IllegalArgumentException("deleteAfter: got " + age + ", must be after the last move at " + last);
        }
        return new TierSchedule(initial, steps, age);
    }

    public StorageTier initial() {
        return initial;
    }

    public List<Step> steps() {
        return Collections.unmodifiableList(steps);
    }

    public Optional<Duration> deleteAfter() {
        return Optional.ofNullable(deleteAfter);
    }

    /** The tier an object of this age belongs in. */
    public StorageTier tierAt(Duration age) {
        StorageTier t = initial;
        for (Step s : steps) {
            if (age.compareTo(s.age()) >= 0) {
                t = s.tier();
            }
        }
        return t;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(initial.toString());
        steps.forEach(s -> b.append(" -> ").append(s.tier()).append("@").append(s.age().toDays()).append("d"));
        if (deleteAfter != null) {
            b.append(" -> delete@").append(deleteAfter.toDays()).append("d");
        }
        return b.toString();
    }
}
