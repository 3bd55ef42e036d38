package dev.backstop.core.retention;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Objects;

/**
 * A retention rule: a pure function from a {@link BackupHistory} and the current instant to the
 * backups (and log ranges) it keeps, each with a reason. Rules compose with {@link #and}.
 *
 * <pre>{@code
 * ZoneId berlin = ZoneId.of("Europe/Berlin");
 * RetentionPolicy policy = RetentionPolicy.keepLast(3)
 *     .and(RetentionPolicy.keepDaily(14, berlin))
 *     .and(RetentionPolicy.keepMonthly(12, berlin))
 *     .and(RetentionPolicy.keepRecoveryWindow(Duration.ofDays(7)));
 * RetentionPlan plan = RetentionPlanner.of(policy).plan(history, clock.instant());
 * }</pre>
 *
 * <p><b>What the built-in rules count.</b> Every completed backup that is not known to be bad
 * ({@link BackupHistory#usable()}): verified backups and backups never validated alike, so
 * {@code keepDaily(14)} keeps the newest backup of each of the last 14 days that hold one, whether
 * or not a drill has checked it yet. A backup whose newest validation <i>failed</i> is never
 * counted, so a bad backup never takes the place of a good one in a calendar bucket. Verification
 * is a separate guard of the {@link RetentionPlanner}: it always keeps the newest verified backup
 * and warns when backups were never verified or none was verified lately. To count only verified
 * backups, ask for it by name: {@link RetentionPlanner#countingOnlyVerified(RetentionPolicy)}.
 *
 * <p><b>Guarantees of the built-in rules.</b> They read nothing but their arguments (no clock, no
 * I/O), so the same input always gives the same selection.
 *
 * <p><b>Restrictions on your own rules.</b> Implement {@link #select} as a pure function. You
 * need not worry about safety: the {@link RetentionPlanner} always keeps the newest verified
 * backup, pinned and legally held backups and everything a kept backup depends on, whatever a
 * rule returns; a rule that throws or returns null makes planning fail, never delete.
 *
 * <p><b>Threading.</b> Built-in rules are immutable and thread-safe.
 */
@FunctionalInterface
public interface RetentionPolicy {

    /** What this rule keeps of {@code history} at {@code now}. */
    Selection select(BackupHistory history, Instant now);

    /** A rule that keeps everything this rule or {@code other} keeps. */
    default RetentionPolicy and(RetentionPolicy other) {
        Objects.requireNonNull(other, "other");
        RetentionPolicy self = this;
        return named(self + ".and(" + other + ")", (history, now) -> self.select(history, now).union(other.select(history, now)));
    }

    /** Keeps nothing by itself; the planner's guards still apply. */
    static RetentionPolicy none() {
        return named("none()", (history, now) -> Selection.none());
    }

    /** Keeps every backup {@code policies} keep. */
    static RetentionPolicy allOf(List<RetentionPolicy> policies) {
        RetentionPolicy p = none();
        for (RetentionPolicy q : policies) {
            p = p.and(q);
        }
        return p;
    }

    /** Keeps the {@code n} newest usable backups ({@code Integer.MAX_VALUE}: all). */
    static RetentionPolicy keepLast(int n) {
        requireCount("keepLast", n);
        return named("keepLast(" + n + ")", (history, now) -> {
            List<BackupRecord> v = history.usable();
            Selection.Builder b = Selection.builder();
            for (int i = v.size() - 1, k = 1; i >= 0 && k <= n; i--, k++) {
                b.keep(v.get(i).id(), "last " + k + " of " + n);
            }
            return b.build();
        });
    }

    /**
     * A minimum count: the {@code n} newest usable backups always stay, whatever the calendar
     * rules say. Same selection as {@link #keepLast}, different reason.
     */
    static RetentionPolicy keepAtLeast(int n) {
        requireCount("keepAtLeast", n);
        return named("keepAtLeast(" + n + ")", (history, now) -> {
            List<BackupRecord> v = history.usable();
            Selection.Builder b = Selection.builder();
            for (int i = v.size() - 1, k = 1; i >= 0 && k <= n; i--, k++) {
                b.keep(v.get(i).id(), "minimum count " + n);
            }
            return b.build();
        });
    }

    /**
     * For the last {@code n} hours (in {@code zone}) that hold a usable backup, keeps the newest
     * backup of each hour. Hours are real hours: the repeated hour when clocks go back is two
     * buckets, told apart by their UTC offset.
     */
    static RetentionPolicy keepHourly(int n, ZoneId zone) {
        return new CalendarRule(CalendarRule.Unit.HOURLY, n, zone);
    }

    /** For the last {@code n} calendar days in {@code zone} that hold a usable backup, keeps the newest of each. */
    static RetentionPolicy keepDaily(int n, ZoneId zone) {
        return new CalendarRule(CalendarRule.Unit.DAILY, n, zone);
    }

    /** As {@link #keepDaily} for ISO weeks (Monday to Sunday) in {@code zone}. */
    static RetentionPolicy keepWeekly(int n, ZoneId zone) {
        return new CalendarRule(CalendarRule.Unit.WEEKLY, n, zone);
    }

    /** As {@link #keepDaily} for calendar months in {@code zone}. */
    static RetentionPolicy keepMonthly(int n, ZoneId zone) {
        return new CalendarRule(CalendarRule.Unit.MONTHLY, n, zone);
    }

    /** As {@link #keepDaily} for calendar years in {@code zone}. */
    static RetentionPolicy keepYearly(int n, ZoneId zone) {
        return new CalendarRule(CalendarRule.Unit.YEARLY, n, zone);
    }

    /**
     * Keeps every usable backup started within {@code age} before {@code now}, and any started
     * after {@code now} (a clock ahead of ours is no reason to delete).
     */
    static RetentionPolicy keepWithin(Duration age) {
        requirePositive("keepWithin", age);
        return named("keepWithin(" + age + ")", (history, now) -> {
            Instant from = now.minus(age);
            Selection.Builder b = Selection.builder();
            for (BackupRecord r : history.usable()) {
                if (r.startedAt().isAfter(now)) {
                    b.keep(r.id(), "started after now (" + now + "): clock skew is no reason to delete");
                } else if (!r.startedAt().isBefore(from)) {
                    b.keep(r.id(), "within " + CalendarRule.human(age));
                }
            }
            return b.build();
        });
    }

    /**
     * Point-in-time recovery stays possible to any moment of the last {@code window}: per log
     * stream, keeps the newest usable backup that finished at or before the window's start (or
     * the oldest one, if none is that old) and every log from that backup's start on.
     */
    static RetentionPolicy keepRecoveryWindow(Duration window) {
        requirePositive("keepRecoveryWindow", window);
        return new RecoveryWindowRule(window);
    }

    /** Keeps pinned backups and backups under legal hold (the planner does so in any case). */
    static RetentionPolicy keepPinned() {
        return named("keepPinned()", (history, now) -> {
            Selection.Builder b = Selection.builder();
            for (BackupRecord r : history.backups()) {
                if (r.pinned()) {
                    b.keep(r.id(), "pinned");
                }
                if (r.legalHold()) {
                    b.keep(r.id(), "under legal hold");
                }
            }
            return b.build();
        });
    }

    /** Gives a rule (your own, typically) the name plans and error messages show for it. */
    static RetentionPolicy named(String name, RetentionPolicy rule) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(rule, "rule");
        return new RetentionPolicy() {
            @Override
            public Selection select(BackupHistory history, Instant now) {
                return rule.select(history, now);
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    private static void requireCount(String rule, int n) {
        if (n < 0) {
            throw new IllegalArgumentException(rule + ": got " + n + ", must be >= 0 (Integer.MAX_VALUE for all)");
        }
    }

    private static void requirePositive(String rule, Duration d) {
        Objects.requireNonNull(d, rule);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(rule + ": got " + d + ", must be positive");
        }
    }
}
