package dev.backstop.cli;

import dev.backstop.core.schedule.Schedule;
import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.time.zone.ZoneOffsetTransition;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A {@link Schedule} from a five-field cron expression ({@code minute hour day-of-month month
 * day-of-week}) in a time zone, as crontab(5) reads it, or a six-field one with a leading
 * {@code second} field as Spring's {@code CronExpression} reads it ({@code 0,30 * * * * *}: every
 * half minute): {@code *}, numbers, ranges
 * ({@code 1-5}), lists ({@code 1,15}), steps ({@code *}{@code /15}, {@code 0-30/10}), month and
 * day names ({@code JAN}, {@code SUN-SAT}; 0 and 7 are both Sunday) and the shorthands
 * {@code @hourly}, {@code @daily}, {@code @weekly}, {@code @monthly} and {@code @yearly}. When both
 * day-of-month and day-of-week are restricted, a day matching either runs (as in cron).
 *
 * <p>Daylight saving: a wall-clock time that does not exist on a spring-forward day runs once, at
 * the end of the gap (a 02:30 job runs at 03:00 when clocks jump from 02:00 to 03:00); a time that
 * happens twice on a fall-back day runs once, at its first occurrence.
 *
 * <p>Immutable and thread-safe.
 */
public final class CronSchedule implements Schedule {
    private static final Map<String, String> SHORTHANDS = Map.of("@hourly", "0 * * * *", "@daily", "0 0 * * *",
            "@midnight", "0 0 * * *", "@weekly", "0 0 * * 0", "@monthly", "0 0 1 * *", "@yearly", "0 0 1 1 *",
            "@annually", "0 0 1 1 *");
    private static final List<String> MONTHS = List.of("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC");
    private static final List<String> DAYS = List.of("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT");
    /** Long enough for any satisfiable expression: 29 February on a given weekday recurs within 28 years. */
    private static final int MAX_YEARS = 30;

    private final String expression;
    private final ZoneId zone;
    private final BitSet seconds;
    private final BitSet minutes;
    private final BitSet hours;
    private final BitSet daysOfMonth;
    private final BitSet months;
    private final BitSet daysOfWeek;
    private final boolean domRestricted;
    private final boolean dowRestricted;

    private CronSchedule(String expression, ZoneId zone, String[] fields) {
        this.expression = expression;
        this.zone = zone;
        String[] f = fields;
        if (fields.length == 6) {
            this.seconds = field("second", fields[0], 0, 59, List.of(), 0);
            f = java.util.Arrays.copyOfRange(fields, 1, 6);
        } else {
            this.seconds = new BitSet(60);
            this.seconds.set(0);
        }
        this.minutes = field("minute", f[0], 0, 59, List.of(), 0);
        this.hours = field("hour", f[1], 0, 23, List.of(), 0);
        this.daysOfMonth = field("day-of-month", f[2], 1, 31, List.of(), 0);
        this.months = field("month", f[3], 1, 12, MONTHS, 1);
        BitSet dow = field("day-of-week", f[4], 0, 7, DAYS, 0);
        if (dow.get(7)) {
            dow.set(0);
            dow.clear(7);
        }
        this.daysOfWeek = dow;
        this.domRestricted = !f[2].startsWith("*");
        this.dowRestricted = !f[4].startsWith("*");
        if (!satisfiable()) {
            throw new IllegalArgumentException("no day of the year matches day-of-month " + f[2] + " in month " + f[3]);
        }
    }

    /**
     * Parses {@code expression} for {@code zone}.
     *
     * @throws IllegalArgumentException naming the field, the value and the allowed range
     */
    public static CronSchedule parse(String expression, ZoneId zone) {
        Objects.requireNonNull(expression, "expression");
        Objects.requireNonNull(zone, "zone");
        String e = expression.trim();
        String expanded = SHORTHANDS.getOrDefault(e.toLowerCase(Locale.ROOT), e);
        String[] f = expanded.split("\\s+");
        if (f.length != 5 && f.length != 6) {
            throw new IllegalArgumentException("expected 5 fields (minute hour day-of-month month day-of-week), or 6 with a "
                    + "leading second, got " + f.length);
        }
        return new CronSchedule(e, zone, f);
    }

    /** The expression as given. */
    public String expression() {
        return expression;
    }

    /** The zone its wall-clock times are in. */
    public ZoneId zone() {
        return zone;
    }

    @Override
    public Instant next(Instant after) {
        LocalDateTime start = LocalDateTime.ofInstant(after, zone).truncatedTo(ChronoUnit.SECONDS).plusSeconds(1);
        LocalDate day = start.toLocalDate();
        LocalDate end = day.plusYears(MAX_YEARS);
        for (; day.isBefore(end); day = day.plusDays(1)) {
            if (!matches(day)) {
                continue;
            }
            for (int h = hours.nextSetBit(0); h >= 0; h = hours.nextSetBit(h + 1)) {
                for (int m = minutes.nextSetBit(0); m >= 0; m = minutes.nextSetBit(m + 1)) {
                    if (LocalDateTime.of(day, LocalTime.of(h, m, 59)).isBefore(start)) {
                        continue;
                    }
                    for (int sec = seconds.nextSetBit(0); sec >= 0; sec = seconds.nextSetBit(sec + 1)) {
                        LocalDateTime t = LocalDateTime.of(day, LocalTime.of(h, m, sec));
                        if (t.isBefore(start)) {
                            continue;
                        }
                        Instant i = resolve(t);
                        if (i.isAfter(after)) {
                            return i;
                        }
                    }
                }
            }
        }
        throw new IllegalStateException("cron " + expression + ": no run within " + MAX_YEARS + " years after " + after);
    }

    /** True when {@code day} is a day this schedule runs on. */
    boolean matches(LocalDate day) {
        if (!months.get(day.getMonthValue())) {
            return false;
        }
        boolean dom = daysOfMonth.get(day.getDayOfMonth());
        boolean dow = daysOfWeek.get(day.getDayOfWeek() == DayOfWeek.SUNDAY ? 0 : day.getDayOfWeek().getValue());
        if (domRestricted && dowRestricted) {
            return dom || dow;
        }
        return dom && dow;
    }

    /** True when {@code t} (a wall-clock time in the zone) is one of this schedule's times. */
    boolean matches(LocalDateTime t) {
        return matches(t.toLocalDate()) && hours.get(t.getHour()) && minutes.get(t.getMinute()) && seconds.get(t.getSecond());
    }

    private Instant resolve(LocalDateTime t) {
        ZoneOffsetTransition gap = zone.getRules().getTransition(t);
        if (gap != null && gap.isGap()) {
            return gap.getInstant();
        }
        return t.atZone(zone).toInstant();   // the earlier offset on an overlap
    }

    private boolean satisfiable() {
        if (dowRestricted && domRestricted) {
            return true;
        }
        LocalDate d = LocalDate.of(2000, 1, 1);   // a leap year: 29 February exists
        for (int i = 0; i < 366; i++, d = d.plusDays(1)) {
            if (months.get(d.getMonthValue()) && daysOfMonth.get(d.getDayOfMonth())) {
                return true;
            }
        }
        return false;
    }

    private static BitSet field(String name, String text, int min, int max, List<String> names, int nameBase) {
        BitSet bits = new BitSet(max + 1);
        for (String part : text.split(",", -1)) {
            String range = part;
            int step = 1;
            int slash = part.indexOf('/');
            if (slash >= 0) {
                range = part.substring(0, slash);
                step = number(name, part.substring(slash + 1), 1, max - min + 1, List.of(), 0);
            }
            int lo;
            int hi;
            if (range.equals("*")) {
                lo = min;
                hi = max == 7 ? 6 : max;
            } else {
                int dash = range.indexOf('-');
                lo = number(name, dash < 0 ? range : range.substring(0, dash), min, max, names, nameBase);
                hi = dash < 0 ? (slash >= 0 ? (max == 7 ? 6 : max) : lo) : number(name, range.substring(dash + 1), min, max, names, nameBase);
                if (hi < lo) {
                    throw new IllegalArgumentException(name + " range " + range + " runs backwards");
                }
            }
            for (int v = lo; v <= hi; v += step) {
                bits.set(v);
            }
        }
        return bits;
    }

    private static int number(String name, String text, int min, int max, List<String> names, int nameBase) {
        int i = names.indexOf(text.toUpperCase(Locale.ROOT));
        if (i >= 0) {
            return i + nameBase;
        }
        try {
            int v = Integer.parseInt(text);
            if (v >= min && v <= max && !text.startsWith("+")) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below, with the allowed range
        }
        throw new IllegalArgumentException(name + " \"" + text + "\" is not " + min + "-" + max
                + (names.isEmpty() ? "" : " or " + names.get(0) + "-" + names.get(names.size() - 1)));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CronSchedule c && c.expression.equals(expression) && c.zone.equals(zone);
    }

    @Override
    public int hashCode() {
        return expression.hashCode() * 31 + zone.hashCode();
    }

    @Override
    public String toString() {
        return "cron \"" + expression + "\"";
    }
}
