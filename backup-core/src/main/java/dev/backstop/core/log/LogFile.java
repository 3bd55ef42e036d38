package dev.backstop.core.log;

import java.util.Comparator;
import java.util.Objects;

/**
 * One file of a log stream as its engine names it.
 *
 * <p>A {@link Kind#POSITIONED} file holds positions {@code [start, end)} of the stream (a WAL
 * segment, a binlog file): it counts for continuity, retention may expire it, and while it is
 * unfinished it may be archived as delta objects. A {@link Kind#SIDE} file (a timeline history
 * file, a backup label) holds no positions ({@code start == end == 0}) and retention keeps it.
 *
 * @param epoch where the file's name is unique: a PostgreSQL timeline ({@code 00000001}), a server
 *              id; one path element of the object key, so {@code [A-Za-z0-9._-]{1,64}}
 * @param name  the engine's file name, {@code [A-Za-z0-9._-]{1,128}}; names of one epoch sort in
 *              stream order
 * @param kind  whether the file holds positions
 * @param start first position held (inclusive)
 * @param end   position just past the last one held (exclusive)
 */
public record LogFile(String epoch, String name, Kind kind, long start, long end) implements Comparable<LogFile> {
    private static final Comparator<LogFile> ORDER = Comparator.comparing(LogFile::epoch).thenComparing(LogFile::name);

    /** Whether a file holds positions of the stream. */
    public enum Kind { POSITIONED, SIDE }

    public LogFile {
        Objects.requireNonNull(epoch, "epoch");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        if (!epoch.matches("[A-Za-z0-9._-]{1,64}") || epoch.startsWith(".")) {
            throw new IllegalArgumentException("log file epoch: got '" + epoch + "', need 1-64 of [A-Za-z0-9._-], not starting with '.'");
        }
        if (!name.matches("[A-Za-z0-9._-]{1,128}") || name.startsWith(".") || name.endsWith(".meta")) {
            throw new IllegalArgumentException("log file name: got '" + name + "', need 1-128 of [A-Za-z0-9._-], not starting "
                    + "with '.' nor ending in '.meta'");
        }
        if (kind == Kind.POSITIONED ? start < 0 || end <= start : start != 0 || end != 0) {
            throw new IllegalArgumentException("log file " + name + ": got " + kind + " [" + start + ", " + end + "), need "
                    + (kind == Kind.POSITIONED ? "0 <= start < end" : "start == end == 0"));
        }
    }

    /** A file holding positions {@code [start, end)}. */
    public static LogFile positioned(String epoch, String name, long start, long end) {
        return new LogFile(epoch, name, Kind.POSITIONED, start, end);
    }

    /** A file holding no positions. */
    public static LogFile side(String epoch, String name) {
        return new LogFile(epoch, name, Kind.SIDE, 0, 0);
    }

    /** Orders by epoch, then name. */
    @Override
    public int compareTo(LogFile o) {
        return ORDER.compare(this, o);
    }
}
