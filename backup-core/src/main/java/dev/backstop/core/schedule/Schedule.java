package dev.backstop.core.schedule;

import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.TemporalAdjusters;
import java.util.Objects;

/**
 * When backups run: a pure function from an instant to the next run strictly after it, so a
 * schedule can be unit-tested across daylight-saving changes without waiting for them.
 *
 * <p>Wall-clock schedules follow {@link ZonedDateTime}'s rules: a time that does not exist on a
 * spring-forward day runs at the same offset into the gap (02:30 becomes 03:30), and a time that
 * happens twice on a fall-back day runs once, at the earlier one.
 */
@FunctionalInterface
public interface Schedule {

    /** The next run strictly after {@code after}. */
    Instant next(Instant after);

    /** Every {@code interval}, aligned to multiples of it since the epoch (so restarts don't drift). */
    static Schedule every(Duration interval) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval: got " + interval + ", must be positive");
        }
        long ms = interval.toMillis();
        return after -> Instant.ofEpochMilli(Math.floorDiv(after.toEpochMilli(), ms) * ms + ms);
    }

    /** Every day at {@code time} in {@code zone}. */
    static Schedule daily(LocalTime time, ZoneId zone) {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(zone, "zone");
        return after -> {
            LocalDate day = after.atZone(zone).toLocalDate();
            while (true) {
                Instant candidate = ZonedDateTime.of(day, time, zone).toInstant();
                if (candidate.isAfter(after)) {
                    return candidate;
                }
                day = day.plusDays(1);
            }
        };
    }

    /** Every week on {@code day} at {@code time} in {@code zone}. */
    static Schedule weekly(DayOfWeek day, LocalTime time, ZoneId zone) {
        Objects.requireNonNull(day, "day");
        Schedule daily = daily(time, zone);
        return after -> {
            Instant next = daily.next(after);
            while (next.atZone(zone).getDayOfWeek() != day) {
                LocalDate d = next.atZone(zone).toLocalDate().with(TemporalAdjusters.next(day));
                next = daily.next(ZonedDateTime.of(d, LocalTime.MIN, zone).toInstant().minusNanos(1));
            }
            return next;
        };
    }
}
