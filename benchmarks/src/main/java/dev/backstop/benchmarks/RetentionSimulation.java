package dev.backstop.benchmarks;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.LogRange;
import dev.backstop.core.StorageTier;
import dev.backstop.core.retention.BackupHistory;
import dev.backstop.core.retention.BackupRecord;
import dev.backstop.core.retention.BackupStatus;
import dev.backstop.core.retention.LogSegment;
import dev.backstop.core.retention.RetentionPlan;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.TierMove;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Replays days of backups on a schedule through a {@link RetentionPlanner}, expiring once a day,
 * and measures what stays: storage by tier and log volume, restore points, how far back
 * point-in-time recovery reaches, and, for a {@link Schedule} of increments, the restore chains.
 * Deterministic for a seed; no I/O.
 *
 * <p><b>Increments.</b> A full backup stores the database's size that day. An increment stores
 * the pages changed since its parent: with a share {@code c} of the pages changed per day, each
 * page independently, {@code size × (1 − (1 − c)^days)} where {@code days} is the time since the
 * parent started. Its parent is chosen as {@code ChainPlanner} does among the backups still in
 * the repository (an {@code incr} builds on the newest backup, a {@code diff} on the newest full)
 * and recorded in the {@link BackupRecord}, so the planner's chain guard keeps every parent of a
 * kept backup. Concentrated changes (the same hot pages every day) make real increments smaller
 * than this model's, and differentials grow more slowly.
 */
public final class RetentionSimulation {

    /** What to simulate. Sizes in bytes; growth in percent per day. */
    public record Settings(int days, Duration every, LocalTime backupAt, LocalTime expireAt, ZoneId zone,
                           RetentionPlanner planner, long fullBytes, double growthPercentPerDay, long walBytesPerDay,
                           double failRate, long seed) {
        public Settings {
            Objects.requireNonNull(every, "every");
            Objects.requireNonNull(zone, "zone");
            Objects.requireNonNull(planner, "planner");
            if (days < 1 || days > 20_000) {
                throw new IllegalArgumentException("days: got " + days + ", must be 1..20000");
            }
            if (every.compareTo(Duration.ofMinutes(15)) < 0) {
                throw new IllegalArgumentException("every: got " + every + ", must be at least PT15M");
            }
            if (failRate < 0 || failRate > 1) {
                throw new IllegalArgumentException("failRate: got " + failRate + ", must be 0..1");
            }
        }
    }

    /** What each backup of a run is. */
    public enum Level {
        /** Every backup is full. */
        FULL,
        /** A full backup, then increments each on the one before, up to the chain limit. */
        INCR,
        /** A full backup, then differentials each on that full. */
        DIFF
    }

    /**
     * The backups' levels: {@code fullEvery} is the chain limit of {@link Level#INCR} (a full,
     * then {@code fullEvery - 1} increments; {@code DataDirectorySource.maxChainLength}) and the
     * cycle of {@link Level#DIFF} (a full, then {@code fullEvery - 1} differentials); {@code
     * changePercentPerDay} is the share of the pages changed per day, 0..100.
     */
    public record Schedule(Level level, int fullEvery, double changePercentPerDay) {
        public Schedule {
            Objects.requireNonNull(level, "level");
            if (fullEvery < 1 || fullEvery > 100) {
                throw new IllegalArgumentException("fullEvery: got " + fullEvery + ", must be 1..100");
            }
            if (!(changePercentPerDay >= 0 && changePercentPerDay <= 100)) {
                throw new IllegalArgumentException("changePercentPerDay: got " + changePercentPerDay + ", must be 0..100");
            }
        }

        /** Every backup full. */
        public static Schedule allFull() {
            return new Schedule(Level.FULL, 1, 0);
        }
    }

    /**
     * The repository after one day's expiry. {@code writtenBytes}: every backup's stored bytes so
     * far, kept or not (what was uploaded); {@code longestChain}: the most backups a restore of a
     * kept backup reads; {@code brokenChains}: kept backups one of whose parents is gone.
     */
    public record Day(int day, LocalDate date, int backups, int verified, long backupBytes, long logBytes,
                      Map<StorageTier, Long> bytesByTier, Duration oldestRestorePoint, Duration pitrReach,
                      int deletedToday, long writtenBytes, int longestChain, int brokenChains) {
        public long totalBytes() {
            return backupBytes + logBytes;
        }
    }

    private static final String STREAM = "wal/sim";

    private RetentionSimulation() {
    }

    /** A run in which every backup is full. */
    public static List<Day> run(Settings s) {
        return run(s, Schedule.allFull());
    }

    /** A run with the backups' levels from {@code schedule}. */
    public static List<Day> run(Settings s, Schedule schedule) {
        SplittableRandom rnd = new SplittableRandom(s.seed());
        Instant start = LocalDate.of(2026, 1, 1).atStartOfDay(s.zone()).toInstant();
        Instant end = start.plus(Duration.ofDays(s.days()));
        long walPerHour = s.walBytesPerDay() / 24;
        List<BackupRecord> backups = new ArrayList<>();
        List<LogSegment> logs = new ArrayList<>();
        List<Day> out = new ArrayList<>();
        Instant nextBackup = LocalDate.of(2026, 1, 1).atTime(s.backupAt()).atZone(s.zone()).toInstant();
        long pos = 0;
        int n = 0;
        LocalDate lastExpiry = null;
        Map<BackupId, Integer> positions = new HashMap<>();
        long written = 0;
        for (Instant t = start; t.isBefore(end); t = t.plus(Duration.ofMinutes(15))) {
            if (walPerHour > 0 && t.atZone(s.zone()).getMinute() == 0 && !t.equals(start)) {
                logs.add(new LogSegment(String.format("%s/%016x", STREAM, pos), new LogRange(STREAM, pos, pos + walPerHour), walPerHour));
                pos += walPerHour;
            }
            if (!t.isBefore(nextBackup)) {
                double days = Duration.between(start, t).toHours() / 24.0;
                long size = (long) (s.fullBytes() * Math.pow(1 + s.growthPercentPerDay() / 100, days));
                Duration took = Duration.ofSeconds(Math.max(60, size / (100L << 20)));
                long walDuring = walPerHour * Math.max(1, took.toMinutes()) / 60;
                BackupStatus status = rnd.nextDouble() < s.failRate() ? BackupStatus.FAILED : BackupStatus.VERIFIED;
                BackupRecord parent = parent(backups, positions, schedule);
                long stored = parent == null ? size : incrementBytes(size, schedule.changePercentPerDay(),
                        Duration.between(parent.startedAt(), t));
                BackupRecord.Builder b = BackupRecord.builder(BackupId.generate(t, BackupType.PHYSICAL, rnd))
                        .startedAt(t).finishedAt(t.plus(took)).storedBytes(stored).status(status)
                        .requiredLogs(new LogRange(STREAM, pos, pos + Math.max(1, walDuring)))
                        .tier(s.planner().tiers().map(x -> x.initial()).orElse(StorageTier.HOT));
                if (parent != null) {
                    b.parent(parent.id());
                }
                BackupRecord r = b.build();
                positions.put(r.id(), parent == null ? 1 : positions.get(backups.get(backups.size() - 1).id()) + 1);
                written += stored;
                backups.add(r);
                n++;
                nextBackup = nextBackup.plus(s.every());
            }
            LocalDate today = t.atZone(s.zone()).toLocalDate();
            if (!today.equals(lastExpiry) && !t.atZone(s.zone()).toLocalTime().isBefore(s.expireAt())) {
                lastExpiry = today;
                BackupHistory h = BackupHistory.of(backups, logs);
                RetentionPlan plan = s.planner().plan(h, t);
                backups = apply(h, plan);
                logs.removeAll(new HashSet<>(plan.logsToDelete()));
                Day d = measure(out.size() + 1, today, t, backups, logs, plan.deleted().size());
                int[] chain = chains(backups);
                out.add(new Day(d.day(), d.date(), d.backups(), d.verified(), d.backupBytes(), d.logBytes(), d.bytesByTier(),
                        d.oldestRestorePoint(), d.pitrReach(), d.deletedToday(), written, chain[0], chain[1]));
            }
        }
        return out;
    }

    /**
     * The parent of the next backup, as {@code ChainPlanner} chooses it among the backups still
     * there, or null for a full backup: nothing to build on, or the newest backup's {@code
     * position} (1 for a full, one more for each backup after it) is the limit already.
     */
    static BackupRecord parent(List<BackupRecord> backups, Map<BackupId, Integer> positions, Schedule schedule) {
        if (schedule.level() == Level.FULL || backups.isEmpty()) {
            return null;
        }
        BackupRecord newest = backups.get(backups.size() - 1);
        if (positions.get(newest.id()) + 1 > schedule.fullEvery()) {
            return null;
        }
        if (schedule.level() == Level.INCR || newest.parent().isEmpty()) {
            return newest;
        }
        BackupId full = newest.parent().get();
        return backups.stream().filter(r -> r.id().equals(full)).findFirst().orElse(null);
    }

    /** Bytes of an increment of a database of {@code fullBytes} whose parent started {@code age} ago. */
    static long incrementBytes(long fullBytes, double changePercentPerDay, Duration age) {
        double days = age.toMinutes() / (24.0 * 60);
        double changed = 1 - Math.pow(1 - changePercentPerDay / 100, days);
        return Math.round(fullBytes * Math.min(1, Math.max(0, changed)));
    }

    /** The longest chain among {@code backups} and how many of them miss a parent. */
    private static int[] chains(List<BackupRecord> backups) {
        Map<BackupId, BackupRecord> byId = new HashMap<>();
        for (BackupRecord r : backups) {
            byId.put(r.id(), r);
        }
        int longest = 0;
        int broken = 0;
        for (BackupRecord r : backups) {
            int n = 1;
            BackupRecord at = r;
            while (at != null && at.parent().isPresent()) {
                at = byId.get(at.parent().get());
                if (at == null) {
                    broken++;
                } else {
                    n++;
                }
            }
            longest = Math.max(longest, n);
        }
        return new int[] {longest, broken};
    }

    private static List<BackupRecord> apply(BackupHistory h, RetentionPlan plan) {
        Map<BackupId, StorageTier> moves = new java.util.HashMap<>();
        for (TierMove m : plan.tierMoves()) {
            moves.put(m.backup(), m.to());
        }
        List<BackupRecord> kept = new ArrayList<>();
        for (BackupRecord r : h.backups()) {
            if (plan.kept().contains(r.id())) {
                StorageTier to = moves.get(r.id());
                kept.add(to == null ? r : r.toBuilder().tier(to).build());
            }
        }
        return kept;
    }

    private static Day measure(int day, LocalDate date, Instant now, List<BackupRecord> backups, List<LogSegment> logs,
                               int deleted) {
        Map<StorageTier, Long> byTier = new EnumMap<>(StorageTier.class);
        long backupBytes = 0;
        int verified = 0;
        Instant oldest = null;
        for (BackupRecord r : backups) {
            byTier.merge(r.tier(), r.storedBytes(), Long::sum);
            backupBytes += r.storedBytes();
            if (r.verified()) {
                verified++;
                oldest = oldest == null || r.finishedAt().isBefore(oldest) ? r.finishedAt() : oldest;
            }
        }
        long logBytes = logs.stream().mapToLong(LogSegment::bytes).sum();
        byTier.merge(StorageTier.HOT, logBytes, Long::sum);
        // point-in-time recovery reaches back to the oldest verified backup whose logs run unbroken to now
        long suffixStart = Long.MAX_VALUE;
        for (int i = logs.size() - 1; i >= 0; i--) {
            LogRange r = logs.get(i).range();
            if (suffixStart != Long.MAX_VALUE && r.end() != suffixStart) {
                break;
            }
            suffixStart = r.start();
        }
        Instant pitrFrom = null;
        for (BackupRecord r : backups) {
            if (r.verified() && r.requiredLogs().map(l -> l.start()).orElse(-1L) >= suffixStart) {
                pitrFrom = r.finishedAt();
                break;
            }
        }
        return new Day(day, date, backups.size(), verified, backupBytes, logBytes, byTier,
                oldest == null ? Duration.ZERO : Duration.between(oldest, now),
                pitrFrom == null ? Duration.ZERO : Duration.between(pitrFrom, now), deleted, 0, 0, 0);
    }
}
