package dev.backstop.core;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.random.RandomGenerator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The identity of one backup, {@code 20261121T031500Z-logical-k3x9q2}: start time (UTC, whole
 * seconds), type and a random suffix. Ids sort chronologically as strings, so listing a repository
 * lists backups in time order, and the id is safe in object keys and file names.
 */
public record BackupId(String value) implements Comparable<BackupId> {

    private static final Pattern FORMAT =
            Pattern.compile("(\\d{8}T\\d{6}Z)-(logical|physical|raw)-([a-z0-9]{6})");
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final char[] ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();

    public BackupId {
        Objects.requireNonNull(value, "value");
        if (!FORMAT.matcher(value).matches()) {
            throw new IllegalArgumentException(
                    "backup id: got '" + value + "', expected yyyyMMddTHHmmssZ-<logical|physical|raw>-<6 of [a-z0-9]>");
        }
    }

    /** A new id for a backup of {@code type} started at {@code startedAt}. */
    public static BackupId generate(Instant startedAt, BackupType type, RandomGenerator random) {
        StringBuilder suffix = new StringBuilder(6);
        for (int i = 0; i < 6; i++) {
            suffix.append(ALPHABET[random.nextInt(ALPHABET.length)]);
        }
        return new BackupId(STAMP.format(startedAt.truncatedTo(ChronoUnit.SECONDS)) + "-" + type.label() + "-" + suffix);
    }

    /** Parses an id, rejecting anything {@link #generate} could not have produced. */
    public static BackupId parse(String value) {
        return new BackupId(value);
    }

    /** Whether {@code value} is a well-formed id (for scanning listings). */
    public static boolean isValid(String value) {
        return value != null && FORMAT.matcher(value).matches();
    }

    /** The start time encoded in the id. */
    public Instant timestamp() {
        Matcher m = matcher();
        return STAMP.parse(m.group(1), Instant::from);
    }

    public BackupType type() {
        return BackupType.fromLabel(matcher().group(2));
    }

    private Matcher matcher() {
        Matcher m = FORMAT.matcher(value);
        if (!m.matches()) {
            throw new IllegalStateException(value);
        }
        return m;
    }

    @Override
    public int compareTo(BackupId o) {
        return value.compareTo(o.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
