package dev.backstop.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class ScheduleTest {
    static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    @Test
    void daily_runsAtTheLocalTime_acrossSpringForward() {
        Schedule s = Schedule.daily(LocalTime.of(2, 30), BERLIN);
        // 2026-03-29: clocks jump from 02:00 to 03:00 CEST, so 02:30 does not exist that day
        Instant before = Instant.parse("2026-03-28T01:30:00Z"); // 02:30 CET on the 28th
        Instant gapDay = s.next(before);
        assertThat(gapDay).isEqualTo(Instant.parse("2026-03-29T01:30:00Z")); // 03:30 CEST
        assertThat(s.next(gapDay)).isEqualTo(Instant.parse("2026-03-30T00:30:00Z")); // 02:30 CEST
    }

    @Test
    void daily_runsOnce_onTheFallBackDay() {
        Schedule s = Schedule.daily(LocalTime.of(2, 30), BERLIN);
        // 2026-10-25: 02:30 happens twice (CEST then CET); run at the first
        Instant first = s.next(Instant.parse("2026-10-24T12:00:00Z"));
        assertThat(first).isEqualTo(Instant.parse("2026-10-25T00:30:00Z"));
        assertThat(s.next(first)).isEqualTo(Instant.parse("2026-10-26T01:30:00Z"));
    }

    @Test
    void daily_acrossTheYearBoundary() {
        Schedule s = Schedule.daily(LocalTime.of(23, 0), ZoneId.of("UTC"));
        assertThat(s.next(Instant.parse("2026-12-31T23:00:00Z"))).isEqualTo(Instant.parse("2027-01-01T23:00:00Z"));
    }

    @Test
    void weekly_runsOnTheGivenDay() {
        Schedule s = Schedule.weekly(DayOfWeek.SUNDAY, LocalTime.of(4, 0), BERLIN);
        Instant next = s.next(Instant.parse("2026-11-21T10:00:00Z")); // a Saturday
        assertThat(next).isEqualTo(Instant.parse("2026-11-22T03:00:00Z"));
        assertThat(s.next(next)).isEqualTo(Instant.parse("2026-11-29T03:00:00Z"));
    }

    @Test
    void every_isAlignedToTheEpoch() {
        Schedule s = Schedule.every(Duration.ofMinutes(15));
        assertThat(s.next(Instant.parse("2026-11-21T10:07:13Z"))).isEqualTo(Instant.parse("2026-11-21T10:15:00Z"));
        assertThat(s.next(Instant.parse("2026-11-21T10:15:00Z"))).isEqualTo(Instant.parse("2026-11-21T10:30:00Z"));
    }

    @Property(tries = 300, seed = "7")
    void next_isAlwaysStrictlyLater_andAtMostADayAway(@ForAll @LongRange(min = 1_700_000_000L, max = 1_900_000_000L) long epoch) {
        Instant t = Instant.ofEpochSecond(epoch);
        for (Schedule s : new Schedule[] {Schedule.daily(LocalTime.of(2, 30), BERLIN),
            Schedule.daily(LocalTime.of(0, 0), ZoneId.of("America/New_York")), Schedule.every(Duration.ofHours(6))}) {
            Instant n = s.next(t);
            assertThat(n).isAfter(t);
            assertThat(Duration.between(t, n)).isLessThanOrEqualTo(Duration.ofHours(25));
        }
    }
}
