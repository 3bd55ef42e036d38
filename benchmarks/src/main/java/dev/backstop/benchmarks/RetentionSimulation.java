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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Replays days of backups on a schedule through a {@link RetentionPlanner}, expiring once a day,
 * and measures what stays: storage by tier and log volume, restore points, and how far back
 * point-in-time recovery reaches. Deterministic for a seed; no I/O.
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

    /** The repository after one day's expiry. */
    public record Day(int day, LocalDate date, int backups, int verified, long backupBytes, long logBytes,
                      Map<StorageTier, Long> bytesByTier, Duration oldestRestorePoint, Duration pitrReach,
                      int deletedToday) {
        public long totalBytes() {
            return backupBytes + logBytes;
        }
    }

    private static final String STREAM = "wal/sim";

    private RetentionSimulation() {
    }

    public static List<Day> run(Settings s) {
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
                backups.add(BackupRecord.builder(BackupId.generate(t, BackupType.PHYSICAL, rnd))
                        .startedAt(t).finishedAt(t.plus(took)).storedBytes(size).status(status)
                        .requiredLogs(new LogRange(STREAM, pos, pos + Math.max(1, walDuring)))
                        .tier(s.planner().tiers().map(x -> x.initial()).orElse(StorageTier.HOT)).build());
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
                out.add(measure(out.size() + 1, today, t, backups, logs, plan.deleted().size()));
            }
        }
        return out;
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
                pitrFrom == null ? Duration.ZERO : Duration.between(pitrFrom, now), deleted);
    }
}
