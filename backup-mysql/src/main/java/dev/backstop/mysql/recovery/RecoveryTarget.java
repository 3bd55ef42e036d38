package dev.backstop.mysql.recovery;

import dev.backstop.mysql.binlog.BinlogArchive;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * Where a point-in-time recovery stops replaying the archived binlogs. Every target is resolved
 * to a byte position in one archived file before anything is replayed, and recovery stops there
 * on a transaction boundary: a transaction (an event group) is replayed whole or not at all.
 *
 * <ul>
 *   <li>{@link #position}: every transaction that ends at or before {@code file:position} (a
 *       position from {@code SHOW MASTER STATUS} or {@code binlog_snapshot_position} is such an
 *       end);</li>
 *   <li>{@link #gtid}: up to and including the transaction with that GTID;</li>
 *   <li>{@link #before}: every transaction before the first one whose GTID event is stamped at
 *       or after {@code time}. Binlog events carry whole seconds (the time the transaction's
 *       last statement, usually its {@code COMMIT}, started), so {@code time} is truncated to the
 *       second, as {@code mariadb-binlog --stop-datetime} does;</li>
 *   <li>{@link #latest}: everything archived, including the archived deltas of the file the
 *       server is still writing, up to its last complete transaction.</li>
 * </ul>
 *
 * <p>A target the archive does not reach (a position past its end, a GTID it does not hold, a
 * time after its last transaction) is refused, as is one before the backup's own point.
 */
public sealed interface RecoveryTarget {

    /** Every transaction ending at or before byte {@code position} of binlog {@code file}. */
    static RecoveryTarget position(String file, long position) {
        return new AtPosition(file, position);
    }

    /** Up to and including the transaction {@code gtid} ({@code domain-server-sequence}). */
    static RecoveryTarget gtid(String gtid) {
        return new AtGtid(Gtid.parse(gtid));
    }

    /** Every transaction stamped before {@code time}, truncated to the second. */
    static RecoveryTarget before(Instant time) {
        return new BeforeTime(time);
    }

    /** Everything archived. */
    static RecoveryTarget latest() {
        return new Latest();
    }

    /** A binlog position. */
    record AtPosition(String file, long position) implements RecoveryTarget {
        public AtPosition {
            BinlogArchive.file(file);
            if (position < 4) {
                throw new IllegalArgumentException("position: got " + position + ", a binlog position is at least 4");
            }
        }

        @Override
        public String toString() {
            return "position " + file + ":" + position;
        }
    }

    /** A transaction by GTID, included. */
    record AtGtid(Gtid gtid) implements RecoveryTarget {
        public AtGtid {
            Objects.requireNonNull(gtid, "gtid");
        }

        @Override
        public String toString() {
            return "gtid " + gtid;
        }
    }

    /** A time, whole seconds, excluded. */
    record BeforeTime(Instant time) implements RecoveryTarget {
        public BeforeTime {
            time = Objects.requireNonNull(time, "time").truncatedTo(ChronoUnit.SECONDS);
        }

        @Override
        public String toString() {
            return "before " + time;
        }
    }

    /** Everything archived. */
    record Latest() implements RecoveryTarget {
        @Override
        public String toString() {
            return "latest";
        }
    }
}
