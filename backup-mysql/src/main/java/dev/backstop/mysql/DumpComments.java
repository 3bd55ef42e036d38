package dev.backstop.mysql;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the coordinates a dump program writes as comments: the binlog file and position near the
 * head ({@code -- CHANGE MASTER TO MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=1732;}, or
 * MySQL's {@code CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE=...}) and the GTID position near
 * the end (MariaDB's {@code -- SET GLOBAL gtid_slave_pos='0-1-42';}, MySQL's commented
 * {@code SET @@GLOBAL.GTID_PURGED=...}).
 */
final class DumpComments {
    private static final Pattern POSITION = Pattern.compile(
            "(?m)^-- CHANGE (?:MASTER|REPLICATION SOURCE) TO (?:MASTER|SOURCE)_LOG_FILE='([^']+)', (?:MASTER|SOURCE)_LOG_POS=(\\d+);");
    private static final Pattern MARIADB_GTID = Pattern.compile("(?m)^-- SET GLOBAL gtid_slave_pos='([^']*)';");
    private static final Pattern MYSQL_GTID = Pattern.compile(
            "(?m)^(?:-- )?SET @@GLOBAL\\.GTID_PURGED=(?:/\\*!80000 '\\+'\\*/ )?'([^']*)';");

    private DumpComments() {
    }

    /** A binlog file and position. */
    record Position(String file, long position) {
        @Override
        public String toString() {
            return file + ":" + position;
        }
    }

    /** The binlog position commented in {@code head}, if it holds the whole line. */
    static Optional<Position> position(byte[] head, int length) {
        Matcher m = POSITION.matcher(new String(head, 0, length, StandardCharsets.ISO_8859_1));
        return m.find() ? Optional.of(new Position(m.group(1), Long.parseLong(m.group(2)))) : Optional.empty();
    }

    /** The GTID position commented in {@code tail}, if any. */
    static Optional<String> gtid(String tail) {
        Matcher m = MARIADB_GTID.matcher(tail);
        if (m.find()) {
            return Optional.of(m.group(1));
        }
        m = MYSQL_GTID.matcher(tail);
        return m.find() ? Optional.of(m.group(1).replace("\n", "")) : Optional.empty();
    }

    /** The last bytes of a stream, kept as it passes. Not thread-safe. */
    static final class Tail {
        private final byte[] ring;
        private long written;

        Tail(int size) {
            this.ring = new byte[size];
        }

        void write(byte[] b, int off, int len) {
            if (len >= ring.length) {
                off += len - ring.length;
                written += len - ring.length;
                len = ring.length;
            }
            int at = (int) (written % ring.length);
            int first = Math.min(len, ring.length - at);
            System.arraycopy(b, off, ring, at, first);
            System.arraycopy(b, off + first, ring, 0, len - first);
            written += len;
        }

        /** The kept bytes in order, decoded as ISO-8859-1 (comments are ASCII). */
        String text() {
            int n = (int) Math.min(written, ring.length);
            byte[] out = new byte[n];
            for (int i = 0; i < n; i++) {
                out[i] = ring[(int) ((written - n + i) % ring.length)];
            }
            return new String(out, StandardCharsets.ISO_8859_1);
        }
    }
}
