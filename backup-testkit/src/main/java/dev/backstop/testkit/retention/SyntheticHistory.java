package dev.backstop.testkit.retention;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.retention.BackupHistory;
import dev.backstop.core.retention.BackupRecord;
import dev.backstop.core.retention.BackupStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Synthetic backup histories for retention tests, in one line: what a repository with a given
 * schedule and drill cadence would hold, without taking a single backup.
 *
 * <pre>{@code
 * BackupHistory h = SyntheticHistory.daily(21).endingAt(now).verifiedEvery(7).build();
 * RetentionPlan plan = RetentionPlanner.of(RetentionPolicy.keepDaily(14, ZoneOffset.UTC)).plan(h, now);
 * assertThat(plan.kept()).hasSize(14);
 * }</pre>
 *
 * <p>Backups are numbered from the newest: position 0 started at {@link Builder#endingAt}, position
 * {@code k} one interval per step before it. Each has a valid, unique {@link BackupId} whose time is
 * its start, finishes {@link Builder#lasting} later, and is {@link BackupStatus#UNVERIFIED} unless
 * marked verified or failed. Ids and records are a pure function of the settings: the same builder
 * gives the same history.
 */
public final class SyntheticHistory {
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private SyntheticHistory() {
    }

    /** {@code count} backups one day apart. */
    public static Builder daily(int count) {
        return every(Duration.ofDays(1), count);
    }

    /** {@code count} backups one hour apart. */
    public static Builder hourly(int count) {
        return every(Duration.ofHours(1), count);
    }

    /** {@code count} backups {@code interval} apart. */
    public static Builder every(Duration interval, int count) {
        return new Builder(interval, count);
    }

    /** Builder of a synthetic history; not thread-safe. {@link #endingAt} is required. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Duration interval;
        private final int count;
        private Instant newest;
        private int verifiedEvery;
        private final Set<Integer> verified = new TreeSet<>();
        private final Set<Integer> failed = new TreeSet<>();
        private BackupType type = BackupType.LOGICAL;
        private long storedBytes = 1024 * 1024;
        private Duration lasting = Duration.ofMinutes(10);

        private Builder(Duration interval, int count) {
            Objects.requireNonNull(interval, "interval");
            if (interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("interval: got " + interval + ", must be positive");
            }
            if (count < 0 || count > 1_000_000) {
                throw new IllegalArgumentException("count: got " + count + ", allowed 0..1000000");
            }
            this.interval = interval;
            this.count = count;
        }

        /** When the newest backup started (position 0). Required. */
        public Builder endingAt(Instant newest) {
            this.newest = given.once("endingAt", this.newest, newest);
            return this;
        }

        /**
         * Marks as verified the newest backup and every {@code n}-th before it (positions 0, n,
         * 2n, ...), as a drill every {@code n} backups would: {@code daily(21).verifiedEvery(7)}
         * has 3 verified backups.
         */
        public Builder verifiedEvery(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("verifiedEvery: got " + n + ", must be >= 1");
            }
            given.onceNullable("verifiedEvery", this.verifiedEvery, n);
            this.verifiedEvery = n;
            return this;
        }

        /** Marks every backup verified. */
        public Builder allVerified() {
            return verifiedEvery(1);
        }

        /** Marks the backups at these positions (0 = newest) verified. */
        public Builder verified(int... positions) {
            for (int p : positions) {
                verified.add(position("verified", p));
            }
            return this;
        }

        /** Marks the backups at these positions (0 = newest) as failed validation; wins over verified. */
        public Builder failed(int... positions) {
            for (int p : positions) {
                failed.add(position("failed", p));
            }
            return this;
        }

        /** The type in every backup id; default {@link BackupType#LOGICAL}. */
        public Builder type(BackupType type) {
            this.type = given.once("type", this.type, type);
            return this;
        }

        /** Stored size of each backup; default 1 MiB. */
        public Builder storedBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("storedBytes: got " + bytes + ", must be >= 0");
            }
            given.onceNullable("storedBytes", this.storedBytes, bytes);
            this.storedBytes = bytes;
            return this;
        }

        /** How long each backup took (finish minus start); default 10 minutes. */
        public Builder lasting(Duration duration) {
            Objects.requireNonNull(duration, "duration");
            if (duration.isNegative()) {
                throw new IllegalArgumentException("lasting: got " + duration + ", must be >= 0");
            }
            given.onceNullable("lasting", this.lasting, duration);
            this.lasting = duration;
            return this;
        }

        /** The records, oldest first. */
        public List<BackupRecord> records() {
            if (newest == null) {
                throw new IllegalStateException("synthetic history: endingAt(instant) is required (when the newest backup started)");
            }
            List<BackupRecord> out = new ArrayList<>(count);
            for (int pos = count - 1; pos >= 0; pos--) {
                Instant start = newest.minus(interval.multipliedBy(pos));
                BackupRecord.Builder b = BackupRecord.builder(id(start, pos)).startedAt(start).finishedAt(start.plus(lasting))
                        .storedBytes(storedBytes);
                if (failed.contains(pos)) {
                    b.status(BackupStatus.FAILED);
                } else if (verified.contains(pos) || (verifiedEvery > 0 && pos % verifiedEvery == 0)) {
                    b.status(BackupStatus.VERIFIED);
                }
                out.add(b.build());
            }
            return out;
        }

        /** The history of {@link #records()}, with no log segments. */
        public BackupHistory build() {
            return BackupHistory.of(records());
        }

        private BackupId id(Instant start, int pos) {
            String suffix = Integer.toString(pos, 36).toLowerCase(Locale.ROOT);
            return BackupId.parse(ID_TIME.format(start) + "-" + type.label() + "-" + "000000".substring(suffix.length()) + suffix);
        }

        private int position(String what, int p) {
            if (p < 0 || p >= count) {
                throw new IllegalArgumentException(what + ": position " + p + " is outside 0.." + (count - 1)
                        + " (0 is the newest of " + count + " backups)");
            }
            return p;
        }
    }
}
