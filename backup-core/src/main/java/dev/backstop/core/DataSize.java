package dev.backstop.core;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A non-negative number of bytes, with binary-unit factories and a readable {@link #toString()}. */
public record DataSize(long bytes) implements Comparable<DataSize> {

    private static final Pattern TEXT = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB|TiB)?");

    public DataSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("data size: got " + bytes + " bytes, must be >= 0");
        }
    }

    public static DataSize ofBytes(long bytes) {
        return new DataSize(bytes);
    }

    public static DataSize ofKiB(long kib) {
        return new DataSize(Math.multiplyExact(kib, 1024L));
    }

    public static DataSize ofMiB(long mib) {
        return new DataSize(Math.multiplyExact(mib, 1024L * 1024));
    }

    public static DataSize ofGiB(long gib) {
        return new DataSize(Math.multiplyExact(gib, 1024L * 1024 * 1024));
    }

    /** Parses {@code 64MiB}, {@code 512 KiB}, {@code 1024} (bytes); for configuration files. */
    public static DataSize parse(String text) {
        Matcher m = TEXT.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("data size: got '" + text + "', expected a number with B, KiB, MiB, GiB or TiB");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2);
        return switch (unit) {
            case "KiB" -> ofKiB(n);
            case "MiB" -> ofMiB(n);
            case "GiB" -> ofGiB(n);
            case "TiB" -> new DataSize(Math.multiplyExact(n, 1L << 40));
            default -> new DataSize(n);
        };
    }

    /** The size as an {@code int}, for buffer sizes; rejects sizes beyond {@code Integer.MAX_VALUE}. */
    public int toIntBytes() {
        return Math.toIntExact(bytes);
    }

    @Override
    public int compareTo(DataSize o) {
        return Long.compare(bytes, o.bytes);
    }

    @Override
    public String toString() {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
