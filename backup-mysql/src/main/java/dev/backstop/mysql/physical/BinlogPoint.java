package dev.backstop.mysql.physical;

import dev.backstop.core.ConsistencyPoint;
import java.util.Map;
import java.util.Objects;

/**
 * The binlog coordinates a physical backup is consistent at: binlog file, position in it, and
 * the GTID position ({@code domain-server-sequence}, comma-separated per domain; empty when the
 * server has logged no GTID yet). Replaying the source's binlogs from here onto a restored copy
 * recovers it forward.
 */
public record BinlogPoint(String file, long position, String gtid) {
    public BinlogPoint {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(gtid, "gtid");
        if (file.isBlank() || position < 4) {
            throw new IllegalArgumentException("binlog point: got file '" + file + "' position " + position
                    + ", need a binlog file name and a position of at least 4");
        }
    }

    /** The point recorded in a physical backup's consistency point. */
    public static BinlogPoint of(ConsistencyPoint point) {
        Map<String, String> p = point.properties();
        String file = p.get("binlog_file");
        String position = p.get("binlog_position");
        if (file == null || position == null) {
            throw new IllegalArgumentException("consistency point " + p + " records no binlog_file and binlog_position");
        }
        return new BinlogPoint(file, Long.parseLong(position), p.getOrDefault("gtid", ""));
    }

    /**
     * Parses mariadb-backup's binlog info file: one line, {@code file<TAB>position[<TAB>gtid]}.
     *
     * @throws IllegalArgumentException quoting the text when it is not that
     */
    static BinlogPoint parse(String text) {
        String[] f = text.strip().split("\t");
        if (f.length < 2 || f.length > 3 || !f[1].matches("\\d{1,19}")) {
            throw new IllegalArgumentException("binlog info: got '" + text.strip() + "', expected file<TAB>position[<TAB>gtid]");
        }
        return new BinlogPoint(f[0], Long.parseLong(f[1]), f.length == 3 ? f[2] : "");
    }
}
