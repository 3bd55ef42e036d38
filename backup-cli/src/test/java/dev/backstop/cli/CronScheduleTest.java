package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.schedule.Schedule;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class CronScheduleTest {
    static final ZoneId UTC = ZoneOffset.UTC;
    static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    static Instant at(String utc) {
        return Instant.parse(utc);
    }

    @Test
    void seedsWeeklyDrill_runsSundaysAtThree() {
        CronSchedule s = CronSchedule.parse("0 3 * * 0", UTC);
        // 2026-12-07 is a Monday
        assertThat(s.next(at("2026-12-07T10:00:00Z"))).isEqualTo(at("2026-12-13T03:00:00Z"));
        assertThat(s.next(at("2026-12-13T03:00:00Z"))).isEqualTo(at("2026-12-20T03:00:00Z"));
        assertThat(CronSchedule.parse("0 3 * * SUN", UTC).next(at("2026-12-07T10:00:00Z"))).isEqualTo(at("2026-12-13T03:00:00Z"));
        assertThat(CronSchedule.parse("0 3 * * 7", UTC).next(at("2026-12-07T10:00:00Z"))).isEqualTo(at("2026-12-13T03:00:00Z"));
    }

    @Test
    void weekdayRange_skipsTheWeekend() {
        CronSchedule s = CronSchedule.parse("0 2 * * 1-5", UTC);
        assertThat(s.next(at("2026-12-11T02:00:00Z"))).isEqualTo(at("2026-12-14T02:00:00Z"));   // Friday -> Monday
        assertThat(s.next(at("2026-12-07T01:59:59Z"))).isEqualTo(at("2026-12-07T02:00:00Z"));
        assertThat(CronSchedule.parse("0 2 * * mon-fri", UTC).next(at("2026-12-11T02:00:00Z"))).isEqualTo(at("2026-12-14T02:00:00Z"));
    }

    @Test
    void listsStepsAndMonthNames_selectExactlyThoseMinutes() {
        CronSchedule s = CronSchedule.parse("*/20 9,17 1 JAN,jul *", UTC);
        assertThat(s.next(at("2026-12-07T00:00:00Z"))).isEqualTo(at("2027-01-01T09:00:00Z"));
        assertThat(s.next(at("2027-01-01T09:00:00Z"))).isEqualTo(at("2027-01-01T09:20:00Z"));
        assertThat(s.next(at("2027-01-01T09:40:00Z"))).isEqualTo(at("2027-01-01T17:00:00Z"));
        assertThat(s.next(at("2027-01-01T17:40:00Z"))).isEqualTo(at("2027-07-01T09:00:00Z"));
        assertThat(CronSchedule.parse("10-40/15 * * * *", UTC).next(at("2026-12-07T00:26:00Z"))).isEqualTo(at("2026-12-07T00:40:00Z"));
        assertThat(CronSchedule.parse("@daily", UTC).next(at("2026-12-07T00:00:00Z"))).isEqualTo(at("2026-12-08T00:00:00Z"));
    }

    @Test
    void dayOfMonthAndDayOfWeekBothRestricted_runOnEither() {
        CronSchedule s = CronSchedule.parse("0 0 13 * FRI", UTC);
        // from Monday 2026-12-07: Friday the 11th comes before the 13th
        assertThat(s.next(at("2026-12-07T00:00:00Z"))).isEqualTo(at("2026-12-11T00:00:00Z"));
        assertThat(s.next(at("2026-12-11T00:00:00Z"))).isEqualTo(at("2026-12-13T00:00:00Z"));
    }

    @Test
    void springForward_aTimeInTheGapRunsOnceAtTheEndOfTheGap() {
        // Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z)
        CronSchedule s = CronSchedule.parse("30 2 * * *", BERLIN);
        Instant first = s.next(at("2026-03-28T12:00:00Z"));
        assertThat(first).isEqualTo(at("2026-03-29T01:00:00Z"));
        assertThat(s.next(first)).isEqualTo(at("2026-03-30T00:30:00Z"));
        // every quarter hour of the missing hour collapses into one run at 03:00
        CronSchedule quarters = CronSchedule.parse("*/15 2 * * *", BERLIN);
        Instant q = quarters.next(at("2026-03-28T12:00:00Z"));
        assertThat(q).isEqualTo(at("2026-03-29T01:00:00Z"));
        assertThat(quarters.next(q)).isEqualTo(at("2026-03-30T00:00:00Z"));
    }

    @Test
    void fallBack_aTimeThatHappensTwiceRunsOnceAtItsFirstOccurrence() {
        // Berlin 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens at 00:30Z and at 01:30Z
        CronSchedule s = CronSchedule.parse("30 2 * * *", BERLIN);
        Instant first = s.next(at("2026-10-24T12:00:00Z"));
        assertThat(first).isEqualTo(at("2026-10-25T00:30:00Z"));
        assertThat(s.next(first)).isEqualTo(at("2026-10-26T01:30:00Z"));
        assertThat(s.next(at("2026-10-25T01:00:00Z"))).isEqualTo(at("2026-10-26T01:30:00Z"));
    }

    @Test
    void badFields_areRefusedNamingTheFieldAndTheRange() {
        assertThatThrownBy(() -> CronSchedule.parse("61 * * * *", UTC)).hasMessage("minute \"61\" is not 0-59");
        assertThatThrownBy(() -> CronSchedule.parse("0 3 * * FUN", UTC)).hasMessage("day-of-week \"FUN\" is not 0-7 or SUN-SAT");
        assertThatThrownBy(() -> CronSchedule.parse("0 3 * *", UTC)).hasMessageContaining("expected 5 fields").hasMessageContaining("got 4");
        assertThatThrownBy(() -> CronSchedule.parse("0 3 5-1 * *", UTC)).hasMessage("day-of-month range 5-1 runs backwards");
        assertThatThrownBy(() -> CronSchedule.parse("0 0 30 2 *", UTC)).hasMessageContaining("no day of the year matches");
        assertThatThrownBy(() -> CronSchedule.parse("*/0 * * * *", UTC)).hasMessageContaining("minute \"0\" is not 1-60");
    }

    @Test
    void sixFields_leadWithSeconds_asSpringReadsThem() {
        CronSchedule every = CronSchedule.parse("* * * * * *", UTC);
        assertThat(every.next(at("2026-12-07T10:00:00.400Z"))).isEqualTo(at("2026-12-07T10:00:01Z"));
        assertThat(every.next(at("2026-12-07T10:00:59Z"))).isEqualTo(at("2026-12-07T10:01:00Z"));
        CronSchedule halves = CronSchedule.parse("0,30 * * * * *", UTC);
        assertThat(halves.next(at("2026-12-07T10:00:00Z"))).isEqualTo(at("2026-12-07T10:00:30Z"));
        assertThat(halves.next(at("2026-12-07T10:00:30Z"))).isEqualTo(at("2026-12-07T10:01:00Z"));
        assertThat(CronSchedule.parse("*/5 0 3 * * SUN", UTC).next(at("2026-12-07T10:00:00Z"))).isEqualTo(at("2026-12-13T03:00:00Z"));
        assertThat(CronSchedule.parse("15 0 3 * * SUN", UTC).next(at("2026-12-13T03:00:15Z"))).isEqualTo(at("2026-12-20T03:00:15Z"));
        assertThatThrownBy(() -> CronSchedule.parse("60 * * * * *", UTC)).hasMessage("second \"60\" is not 0-59");
        assertThatThrownBy(() -> CronSchedule.parse("0 0 0 3 * * *", UTC)).hasMessageContaining("or 6 with a leading second, got 7");
    }

    @Test
    void leapDay_isFoundYearsAhead() {
        assertThat(CronSchedule.parse("0 0 29 2 *", UTC).next(at("2026-12-07T00:00:00Z"))).isEqualTo(at("2028-02-29T00:00:00Z"));
    }

    @Property(tries = 200, seed = "20261207")
    void next_isTheFirstMatchingMinuteStrictlyAfter(@ForAll("expressions") String expr,
                                                    @ForAll @LongRange(min = 1_700_000_000L, max = 1_900_000_000L) long epoch) {
        CronSchedule s = CronSchedule.parse(expr, UTC);
        Instant after = Instant.ofEpochSecond(epoch);
        Instant next = s.next(after);
        assertThat(next).isAfter(after);
        assertThat(s.matches(LocalDateTime.ofInstant(next, UTC))).isTrue();
        for (Instant t = after.truncatedTo(ChronoUnit.MINUTES).plus(1, ChronoUnit.MINUTES); t.isBefore(next); t = t.plus(1, ChronoUnit.MINUTES)) {
            assertThat(s.matches(LocalDateTime.ofInstant(t, UTC))).as("%s matches %s, before %s", expr, t, next).isFalse();
        }
    }

    @Property(tries = 300, seed = "20261207")
    void weeklyCron_agreesWithTheCoreWeeklySchedule(@ForAll @LongRange(min = 1_700_000_000L, max = 1_900_000_000L) long epoch) {
        // 03:00 is never inside a Berlin daylight-saving gap, so both must agree to the second
        Schedule core = Schedule.weekly(DayOfWeek.SUNDAY, LocalTime.of(3, 0), BERLIN);
        Instant after = Instant.ofEpochSecond(epoch);
        assertThat(CronSchedule.parse("0 3 * * 0", BERLIN).next(after)).isEqualTo(core.next(after));
    }

    @Provide
    Arbitrary<String> expressions() {
        Arbitrary<String> minute = Arbitraries.of("*", "0", "*/7", "5-10", "0,30", "59");
        Arbitrary<String> hour = Arbitraries.of("*", "3", "*/5", "22-23", "0,12");
        Arbitrary<String> dom = Arbitraries.of("*", "1", "10-20", "*/9", "28");
        Arbitrary<String> dow = Arbitraries.of("*", "0", "1-5", "SAT", "2,4");
        return Combinators.combine(minute, hour, dom, dow).as((m, h, d, w) -> m + " " + h + " " + d + " * " + w);
    }
}
