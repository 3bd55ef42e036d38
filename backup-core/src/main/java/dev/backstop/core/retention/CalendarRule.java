package dev.backstop.core.retention;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.time.temporal.IsoFields;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Keeps the newest usable backup of each of the last {@code n} calendar buckets that hold one,
 * as restic's {@code forget --keep-daily} does: walk backups newest first, and keep one whenever
 * its bucket differs from the previous kept one's, until {@code n} are kept.
 */
final class CalendarRule implements RetentionPolicy {
    enum Unit {
        HOURLY("hourly"), DAILY("daily"), WEEKLY("weekly"), MONTHLY("monthly"), YEARLY("yearly");

        final String label;

        Unit(String label) {
            this.label = label;
        }
    }

    private static final DateTimeFormatter HOUR = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:00xxx", Locale.ROOT);

    private final Unit unit;
    private final int n;
    private final ZoneId zone;

    CalendarRule(Unit unit, int n, ZoneId zone) {
        if (n < 0) {
            throw new IllegalArgumentException("keep" + Character.toUpperCase(unit.label.charAt(0)) + unit.label.substring(1)
                    + ": got " + n + ", must be >= 0 (Integer.MAX_VALUE for all)");
        }
        this.unit = unit;
        this.n = n;
        this.zone = Objects.requireNonNull(zone, "zone");
    }

    @Override
    public Selection select(BackupHistory history, Instant now) {
        List<BackupRecord> v = history.usable();
        Selection.Builder b = Selection.builder();
        String last = null;
        int kept = 0;
        for (int i = v.size() - 1; i >= 0 && kept < n; i--) {
            String bucket = bucket(v.get(i).startedAt());
            if (!bucket.equals(last)) {
                b.keep(v.get(i).id(), "newest " + unit.label + " for " + bucket + " (" + zone.getId() + ")");
                last = bucket;
                kept++;
            }
        }
        return b.build();
    }

    /** The bucket's name; two instants share a bucket exactly when their names are equal. */
    String bucket(Instant t) {
        ZonedDateTime z = t.atZone(zone);
        return switch (unit) {
            // truncating keeps the offset, so the hour repeated when clocks go back is two buckets
            case HOURLY -> HOUR.format(z.truncatedTo(ChronoUnit.HOURS));
            case DAILY -> z.toLocalDate().toString();
            case WEEKLY -> String.format(Locale.ROOT, "%d-W%02d",
                    z.get(IsoFields.WEEK_BASED_YEAR), z.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
            case MONTHLY -> String.format(Locale.ROOT, "%d-%02d", z.getYear(), z.getMonthValue());
            case YEARLY -> Integer.toString(z.getYear());
        };
    }

    static String human(Duration d) {
        if (d.toHours() % 24 == 0 && d.toSeconds() % 3600 == 0) {
            return d.toDays() + "d";
        }
        return d.toSeconds() % 3600 == 0 ? d.toHours() + "h" : d.toString();
    }

    @Override
    public String toString() {
        return "keep" + Character.toUpperCase(unit.label.charAt(0)) + unit.label.substring(1) + "(" + n + ", " + zone.getId() + ")";
    }
}
