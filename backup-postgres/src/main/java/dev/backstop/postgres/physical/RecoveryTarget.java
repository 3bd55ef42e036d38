package dev.backstop.postgres.physical;

import dev.backstop.postgres.wal.WalFile;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Where point-in-time recovery stops. Each target becomes PostgreSQL's {@code recovery_target_*}
 * settings; recovery then promotes ({@code recovery_target_action = promote}).
 *
 * <ul>
 *   <li>{@link #consistent()}: the end of the base backup, no archived WAL needed;</li>
 *   <li>{@link #latest()}: replay every archived WAL file, following timeline switches;</li>
 *   <li>{@link #time}, {@link #lsn}, {@link #xid}, {@link #restorePoint}: stop there.</li>
 * </ul>
 *
 * <p>{@code inclusive} (time, LSN, xid) says whether the transaction committing exactly at the
 * target is kept, as PostgreSQL's {@code recovery_target_inclusive}.
 *
 * <p>{@link #then(Action)} makes recovery pause or shut down at the target instead of promoting
 * ({@code recovery_target_action}), for a directory restored with {@link
 * PointInTimeRecovery#prepare} that someone inspects before promoting it; {@link
 * PointInTimeRecovery#recover()} waits for promotion and takes only promoting targets.
 */
public sealed interface RecoveryTarget {

    /** What the server does once it reached the target: PostgreSQL's {@code recovery_target_action}. */
    enum Action {
        /** End recovery and accept writes (the default). */
        PROMOTE,
        /** Stay in recovery, read-only, until {@code pg_wal_replay_resume()} promotes it. */
        PAUSE,
        /** Stop the server there; started again, it recovers to the same point and stops, until the target is changed. */
        SHUTDOWN;

        /** The setting's value. */
        public String setting() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The settings to write; empty for {@link #latest()}. */
    Map<String, String> settings();

    /** Whether WAL from the archive is needed at all. */
    default boolean needsArchive() {
        return true;
    }

    /** What the server does at the target; {@link Action#PROMOTE} unless {@link #then} said otherwise. */
    default Action action() {
        return Action.PROMOTE;
    }

    /**
     * This target with {@code action} at the end instead of promotion.
     *
     * @throws IllegalArgumentException for {@link #latest()} and {@link #consistent()}, which
     *     have no target to stop at
     */
    default RecoveryTarget then(Action action) {
        Objects.requireNonNull(action, "action");
        if (this instanceof Latest || this instanceof Consistent) {
            throw new IllegalArgumentException("action " + action.setting() + ": needs a target to stop at (time, lsn, xid or "
                    + "restore point), got " + this);
        }
        RecoveryTarget base = this instanceof Then t ? t.target() : this;
        return action == Action.PROMOTE ? base : new Then(base, action);
    }

    static RecoveryTarget consistent() {
        return new Consistent();
    }

    static RecoveryTarget latest() {
        return new Latest();
    }

    static RecoveryTarget time(Instant time, boolean inclusive) {
        return new Time(time, inclusive);
    }

    static RecoveryTarget lsn(long lsn, boolean inclusive) {
        return new Lsn(lsn, inclusive);
    }

    static RecoveryTarget xid(long xid, boolean inclusive) {
        return new Xid(xid, inclusive);
    }

    static RecoveryTarget restorePoint(String name) {
        return new RestorePoint(name);
    }

    /** The end of the base backup: crash recovery with the WAL inside the backup. */
    record Consistent() implements RecoveryTarget {
        @Override
        public Map<String, String> settings() {
            return Map.of();
        }

        @Override
        public boolean needsArchive() {
            return false;
        }
    }

    /** All archived WAL. */
    record Latest() implements RecoveryTarget {
        @Override
        public Map<String, String> settings() {
            return Map.of();
        }
    }

    record Time(Instant time, boolean inclusive) implements RecoveryTarget {
        public Time {
            Objects.requireNonNull(time, "time");
        }

        @Override
        public Map<String, String> settings() {
            // PostgreSQL parses ISO 8601 with an explicit UTC offset exactly, to the microsecond
            return withAction("recovery_target_time", time.toString().replace("T", " ").replace("Z", "+00"), inclusive);
        }
    }

    record Lsn(long lsn, boolean inclusive) implements RecoveryTarget {
        @Override
        public Map<String, String> settings() {
            return withAction("recovery_target_lsn", WalFile.formatLsn(lsn), inclusive);
        }
    }

    record Xid(long xid, boolean inclusive) implements RecoveryTarget {
        public Xid {
            if (xid < 3) {
                throw new IllegalArgumentException("xid: got " + xid + ", normal transaction ids start at 3");
            }
        }

        @Override
        public Map<String, String> settings() {
            return withAction("recovery_target_xid", Long.toString(xid), inclusive);
        }
    }

    record RestorePoint(String name) implements RecoveryTarget {
        public RestorePoint {
            if (name == null || name.isEmpty() || name.length() > 63) {
                throw new IllegalArgumentException("restore point: got '" + name + "', need 1..63 characters as pg_create_restore_point takes");
            }
        }

        @Override
        public Map<String, String> settings() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("recovery_target_name", name);
            m.put("recovery_target_action", "promote");
            return m;
        }
    }

    /** A target followed by an action other than promotion. */
    record Then(RecoveryTarget target, Action action) implements RecoveryTarget {
        public Then {
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(action, "action");
        }

        @Override
        public Map<String, String> settings() {
            Map<String, String> m = new LinkedHashMap<>(target.settings());
            m.put("recovery_target_action", action.setting());
            return m;
        }
    }

    private static Map<String, String> withAction(String key, String value, boolean inclusive) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(key, value);
        m.put("recovery_target_inclusive", Boolean.toString(inclusive));
        m.put("recovery_target_action", "promote");
        return m;
    }
}
