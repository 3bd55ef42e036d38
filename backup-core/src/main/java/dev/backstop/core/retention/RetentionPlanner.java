package dev.backstop.core.retention;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.LogRange;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageTier;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a {@link RetentionPolicy} into a {@link RetentionPlan}, adding the guards no rule can
 * switch off. Pure: no I/O, no clock; the same history and instant give the same plan.
 *
 * <p><b>What rules count.</b> By default ({@link #of}) the policy's rules count every completed
 * backup that is not known to be bad, verified or not yet verified: {@code keepDaily(14)} keeps 14
 * daily backups. Verification is a separate guard, below, and a warning. A planner built with
 * {@link #countingOnlyVerified} gives the rules only verified backups instead; unverified ones then
 * stay for {@link Builder#unverifiedGrace} and are deleted after it.
 *
 * <p><b>Guarantees.</b> Whatever the policy returns, the plan keeps:
 * <ul>
 *   <li>the newest verified backup;</li>
 *   <li>pinned backups and backups under legal hold;</li>
 *   <li>backups whose validation failed, for {@link Builder#failedGrace} (for inspection); rules
 *       never count them;</li>
 *   <li>when counting only verified backups: unverified backups younger than
 *       {@link Builder#unverifiedGrace} (their drill may still be pending);</li>
 *   <li>every incremental parent of a kept backup, transitively;</li>
 *   <li>per log stream, every log a kept backup needs (its start to its consistency point), every
 *       log from a recovery window's floor on and from the newest backup of the stream on (kept
 *       or not), and with {@link LogRetention#CONTIGUOUS} (the default) every log from the oldest
 *       kept backup on. Streams no backup uses keep all their logs: they may belong to a first
 *       backup still being taken.</li>
 * </ul>
 * A policy that throws or returns null fails planning with a {@link BackupException} of stage
 * {@link Stage#RETENTION}; it never causes a deletion.
 *
 * <p><b>Warnings</b> ({@link RetentionPlan#warnings()}, printed by the dry run): backups that were
 * never verified (by {@code Restore.verify(manifest)} or a restore drill), and no verified backup
 * finished within {@link Builder#warnIfNoVerifiedBackupWithin} (7 days by default), besides broken
 * incremental chains.
 *
 * <p><b>Threading.</b> Immutable and thread-safe if the policy is.
 */
public final class RetentionPlanner {
    static final String NEWEST_VERIFIED = "newest verified backup (always kept)";

    private final RetentionPolicy policy;
    private final boolean onlyVerified;
    private final Duration verifiedWithin;
    private final Duration unverifiedGrace;
    private final Duration failedGrace;
    private final TierSchedule tiers;
    private final LogRetention logRetention;

    private RetentionPlanner(Builder b) {
        this.policy = Objects.requireNonNull(b.policy, "policy");
        this.onlyVerified = b.onlyVerified;
        this.verifiedWithin = b.verifiedWithin;
        this.unverifiedGrace = b.unverifiedGrace;
        this.failedGrace = b.failedGrace;
        this.tiers = b.tiers;
        this.logRetention = b.logRetention;
    }

    /** A planner whose rules count every usable backup, with default settings and no tier schedule. */
    public static RetentionPlanner of(RetentionPolicy policy) {
        return builder().policy(policy).build();
    }

    /**
     * A planner whose rules count only verified backups: {@code keepDaily(14)} then means 14 days
     * that hold a verified backup, and an unverified backup is deleted once it is older than the
     * unverified grace (2 days) unless a rule keeps it. Choose it only when every backup is
     * validated soon after it is taken (a scheduler with validators, a daily drill).
     */
    public static RetentionPlanner countingOnlyVerified(RetentionPolicy policy) {
        return builder().policy(policy).countingOnlyVerified().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public RetentionPolicy policy() {
        return policy;
    }

    public Optional<TierSchedule> tiers() {
        return Optional.ofNullable(tiers);
    }

    /** The plan for {@code history} at {@code now}. */
    public RetentionPlan plan(BackupHistory history, Instant now) {
        Objects.requireNonNull(history, "history");
        Objects.requireNonNull(now, "now");
        Selection sel = select(onlyVerified ? history.onlyVerified() : history, now);
        Map<BackupId, Set<String>> keep = new LinkedHashMap<>();
        sel.backups().forEach((id, reasons) -> {
            if (history.get(id).isPresent()) {
                keep.computeIfAbsent(id, k -> new LinkedHashSet<>()).addAll(reasons);
            }
        });
        for (BackupRecord r : history.backups()) {
            if (r.legalHold()) {
                add(keep, r.id(), "under legal hold");
            }
            if (r.pinned()) {
                add(keep, r.id(), "pinned");
            }
            if (onlyVerified && r.status() == BackupStatus.UNVERIFIED && r.finishedAt().plus(unverifiedGrace).isAfter(now)) {
                add(keep, r.id(), "unverified, awaiting validation until " + r.finishedAt().plus(unverifiedGrace));
            }
            if (r.status() == BackupStatus.FAILED && r.finishedAt().plus(failedGrace).isAfter(now)) {
                add(keep, r.id(), "failed validation, kept for inspection until " + r.finishedAt().plus(failedGrace));
            }
        }
        history.newestVerified().ifPresent(r -> add(keep, r.id(), NEWEST_VERIFIED));
        List<String> warnings = new ArrayList<>();
        keepParents(history, keep, warnings);
        verificationWarnings(history, now, warnings);

        List<RetentionPlan.Decision> decisions = new ArrayList<>();
        for (BackupRecord r : history.backups()) {
            Set<String> why = keep.get(r.id());
            decisions.add(why != null
                    ? new RetentionPlan.Decision(r, RetentionPlan.Action.KEEP, List.copyOf(why))
                    : new RetentionPlan.Decision(r, RetentionPlan.Action.DELETE, List.of(deleteReason(r))));
        }

        List<LogSegment> logsToDelete = new ArrayList<>();
        int logsKept = 0;
        Map<String, Long> floors = logFloors(history, sel, keep.keySet());
        List<LogRange> neededRanges = new ArrayList<>();
        keep.keySet().forEach(id -> history.get(id).flatMap(BackupRecord::requiredLogs).ifPresent(neededRanges::add));
        for (LogSegment s : history.logs()) {
            LogRange range = s.range();
            Long floor = floors.get(range.stream());
            boolean keepIt = floor == null || range.end() > floor
                    || (logRetention == LogRetention.NEEDED && overlapsAny(neededRanges, range));
            if (keepIt) {
                logsKept++;
            } else {
                logsToDelete.add(s);
            }
        }
        return new RetentionPlan(now, decisions, logsToDelete, logsKept, tierMoves(history, keep.keySet(), now), warnings);
    }

    /**
     * Per stream, the position from which every log stays. Streams without an entry keep all their
     * logs: no backup uses them yet, and they may belong to a first backup still being taken.
     */
    private Map<String, Long> logFloors(BackupHistory history, Selection sel, Set<BackupId> kept) {
        Map<String, Long> floors = new HashMap<>();
        // logs from the newest backup of each stream on stay, kept or not: they may serve the next
        // backup, and without this floor a stream whose backups are all deleted would keep every
        // log while keeping one more backup would delete some (adding a rule must never delete more)
        for (BackupRecord r : history.backups()) {
            r.requiredLogs().ifPresent(l -> floors.put(l.stream(), l.start()));
        }
        sel.logFloors().forEach((stream, f) -> floors.merge(stream, f.position(), Math::min));
        if (logRetention == LogRetention.CONTIGUOUS) {
            for (BackupId id : kept) {
                history.get(id).flatMap(BackupRecord::requiredLogs)
                        .ifPresent(l -> floors.merge(l.stream(), l.start(), Math::min));
            }
        }
        return floors;
    }

    private static boolean overlapsAny(List<LogRange> needed, LogRange segment) {
        for (LogRange need : needed) {
            // an empty range [p, p) still needs the segment holding p
            if (need.stream().equals(segment.stream()) && segment.start() < Math.max(need.end(), need.start() + 1)
                    && need.start() < segment.end()) {
                return true;
            }
        }
        return false;
    }

    private Selection select(BackupHistory history, Instant now) {
        Selection sel;
        try {
            sel = policy.select(history, now);
        } catch (RuntimeException e) {
            throw new BackupException(Stage.RETENTION, "retention policy " + policy + " failed at " + now
                    + "; nothing is deleted: " + e, e);
        }
        if (sel == null) {
            throw new BackupException(Stage.RETENTION, "retention policy " + policy + " returned null at " + now
                    + ", expected a Selection (Selection.none() to keep nothing); nothing is deleted", null);
        }
        return sel;
    }

    private static void keepParents(BackupHistory history, Map<BackupId, Set<String>> keep, List<String> warnings) {
        Deque<BackupId> work = new ArrayDeque<>(keep.keySet());
        Set<BackupId> seen = new LinkedHashSet<>();
        while (!work.isEmpty()) {
            BackupId child = work.pop();
            if (!seen.add(child)) {
                continue;
            }
            Optional<BackupId> parent = history.get(child).flatMap(BackupRecord::parent);
            if (parent.isEmpty()) {
                continue;
            }
            if (history.get(parent.get()).isEmpty()) {
                warnings.add("kept backup " + child + " needs parent " + parent.get()
                        + ", which is not in the repository: it cannot be restored");
                continue;
            }
            add(keep, parent.get(), "parent of kept " + child);
            work.push(parent.get());
        }
    }

    private void verificationWarnings(BackupHistory history, Instant now, List<String> warnings) {
        int never = history.unverified().size();
        if (never > 0) {
            warnings.add(never + " of " + history.backups().size() + " backups have never been verified"
                    + (onlyVerified ? " (rules do not count them)" : "")
                    + "; Restore.verify(backup) or a restore drill verifies one");
        }
        Optional<BackupRecord> newest = history.newestVerified();
        if (!history.backups().isEmpty()
                && newest.map(r -> r.finishedAt().isBefore(now.minus(verifiedWithin))).orElse(true)) {
            warnings.add("no verified backup in the last " + CalendarRule.human(verifiedWithin)
                    + newest.map(r -> " (newest verified: " + r.id() + ", finished " + r.finishedAt() + ")")
                            .orElse(" (no backup has ever been verified)"));
        }
    }

    private String deleteReason(BackupRecord r) {
        return switch (r.status()) {
            case VERIFIED -> "no rule keeps it";
            case UNVERIFIED -> onlyVerified
                    ? "unverified for more than " + CalendarRule.human(unverifiedGrace) + " and no rule keeps it"
                    : "no rule keeps it";
            case FAILED -> "failed validation more than " + CalendarRule.human(failedGrace) + " ago";
        };
    }

    private List<TierMove> tierMoves(BackupHistory history, Set<BackupId> kept, Instant now) {
        List<TierMove> moves = new ArrayList<>();
        if (tiers == null) {
            return moves;
        }
        for (BackupRecord r : history.backups()) {
            if (!kept.contains(r.id())) {
                continue;
            }
            Duration age = Duration.between(r.finishedAt(), now);
            StorageTier target = tiers.tierAt(age);
            if (target.compareTo(r.tier()) > 0) {
                moves.add(new TierMove(r.id(), r.tier(), target,
                        "age " + CalendarRule.human(age.truncatedTo(java.time.temporal.ChronoUnit.HOURS))
                                + " in schedule " + tiers));
            }
        }
        return moves;
    }

    private static void add(Map<BackupId, Set<String>> keep, BackupId id, String reason) {
        keep.computeIfAbsent(id, k -> new LinkedHashSet<>()).add(reason);
    }

    /** Builder for {@link RetentionPlanner}; not thread-safe. Each setting may be set once. */
    public static final class Builder {
        private RetentionPolicy policy;
        private boolean onlyVerified;
        private Duration verifiedWithin = Duration.ofDays(7);
        private Duration unverifiedGrace = Duration.ofDays(2);
        private Duration failedGrace = Duration.ofDays(7);
        private TierSchedule tiers;
        private LogRetention logRetention = LogRetention.CONTIGUOUS;
        private final Set<String> set = new LinkedHashSet<>();

        private Builder() {
        }

        public Builder policy(RetentionPolicy policy) {
            once("policy");
            this.policy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /**
         * Rules count only verified backups (see {@link RetentionPlanner#countingOnlyVerified}); by
         * default they count every backup not known to be bad.
         */
        public Builder countingOnlyVerified() {
            once("countingOnlyVerified");
            this.onlyVerified = true;
            return this;
        }

        /**
         * The plan warns when no verified backup finished within {@code age} before the planning
         * instant; default 7 days.
         */
        public Builder warnIfNoVerifiedBackupWithin(Duration age) {
            once("warnIfNoVerifiedBackupWithin");
            Objects.requireNonNull(age, "warnIfNoVerifiedBackupWithin");
            if (age.isNegative() || age.isZero()) {
                throw new IllegalArgumentException("warnIfNoVerifiedBackupWithin: got " + age + ", must be positive");
            }
            this.verifiedWithin = age;
            return this;
        }

        /**
         * With {@link #countingOnlyVerified()}: how long an unverified backup stays without a rule
         * keeping it; default 2 days. Rejected at {@link #build()} without it, where rules count
         * unverified backups like any other.
         */
        public Builder unverifiedGrace(Duration grace) {
            once("unverifiedGrace");
            this.unverifiedGrace = nonNegative("unverifiedGrace", grace);
            return this;
        }

        /** How long a backup whose validation failed stays for inspection; default 7 days. */
        public Builder failedGrace(Duration grace) {
            once("failedGrace");
            this.failedGrace = nonNegative("failedGrace", grace);
            return this;
        }

        /** Age-based tier moves for kept backups; none by default. */
        public Builder tiers(TierSchedule tiers) {
            once("tiers");
            this.tiers = Objects.requireNonNull(tiers, "tiers");
            return this;
        }

        /** Which logs stay besides recovery windows; default {@link LogRetention#CONTIGUOUS}. */
        public Builder logRetention(LogRetention logRetention) {
            once("logRetention");
            this.logRetention = Objects.requireNonNull(logRetention, "logRetention");
            return this;
        }

        public RetentionPlanner build() {
            if (policy == null) {
                throw new IllegalStateException("retention planner: policy is required, e.g. RetentionPolicy.keepLast(7)");
            }
            if (set.contains("unverifiedGrace") && !onlyVerified) {
                throw new IllegalStateException("retention planner: unverifiedGrace applies only with countingOnlyVerified(); "
                        + "by default rules count unverified backups like any other, so they need no grace");
            }
            return new RetentionPlanner(this);
        }

        private void once(String name) {
            if (!set.add(name)) {
                throw new IllegalStateException("retention planner: " + name + " was already set");
            }
        }

        private static Duration nonNegative(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.isNegative()) {
                throw new IllegalArgumentException(name + ": got " + d + ", must be >= 0");
            }
            return d;
        }
    }
}
