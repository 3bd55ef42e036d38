package dev.backstop.core.retention;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.LogRange;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A generated backup history around a daylight-saving or year boundary: verified, unverified and
 * failed backups, pins and legal holds, incremental chains, two log streams archived in segments.
 */
record Scenario(BackupHistory history, Instant now, ZoneId zone, long seed) {
    static final ZoneId[] ZONES = {ZoneId.of("Europe/Berlin"), ZoneId.of("America/New_York"), ZoneId.of("UTC")};
    /** Near DST changes in Berlin and New York, and a year end. */
    static final Instant[] STARTS = {
        Instant.parse("2026-03-27T00:00:00Z"), Instant.parse("2026-10-23T00:00:00Z"),
        Instant.parse("2026-03-06T00:00:00Z"), Instant.parse("2026-10-30T00:00:00Z"),
        Instant.parse("2026-12-29T00:00:00Z"),
    };
    private static final long[] GAPS_MINUTES = {1, 30, 59, 60, 61, 180, 23 * 60, 24 * 60, 25 * 60, 7 * 24 * 60, 31 * 24 * 60};
    private static final String[] STREAMS = {"wal/1", "wal/2"};

    static Scenario generate(long seed, int size, ZoneId zone, Instant start) {
        Random rnd = new Random(seed);
        List<BackupRecord> backups = new ArrayList<>();
        long[] position = new long[STREAMS.length];
        Instant t = start;
        for (int i = 0; i < size; i++) {
            t = t.plus(Duration.ofMinutes(rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(3 * 24 * 60) : GAPS_MINUTES[rnd.nextInt(GAPS_MINUTES.length)]));
            BackupType type = rnd.nextInt(3) == 0 ? BackupType.LOGICAL : BackupType.PHYSICAL;
            BackupId id = Backups.id(t, type, i);
            int s = rnd.nextInt(3);
            BackupStatus status = s == 0 && rnd.nextBoolean() ? (rnd.nextBoolean() ? BackupStatus.FAILED : BackupStatus.UNVERIFIED)
                    : BackupStatus.VERIFIED;
            BackupRecord.Builder b = BackupRecord.builder(id).startedAt(t)
                    .finishedAt(t.plus(Duration.ofMinutes(rnd.nextInt(90)))).status(status)
                    .storedBytes(1 + rnd.nextInt(1_000_000))
                    .pinned(rnd.nextInt(25) == 0).legalHold(rnd.nextInt(40) == 0);
            if (type == BackupType.PHYSICAL) {
                int st = rnd.nextInt(STREAMS.length);
                position[st] += rnd.nextInt(400);
                long end = position[st] + 1 + rnd.nextInt(150);
                b.requiredLogs(new LogRange(STREAMS[st], position[st], end));
                position[st] = end;
            }
            if (!backups.isEmpty() && rnd.nextInt(10) < 3) {
                b.parent(backups.get(rnd.nextInt(backups.size())).id());
            }
            backups.add(b.build());
        }
        List<LogSegment> logs = new ArrayList<>();
        for (int st = 0; st < STREAMS.length; st++) {
            for (long p = 0; p < position[st] + 200; p += 100) {
                logs.add(new LogSegment(STREAMS[st] + "/" + p, new LogRange(STREAMS[st], p, p + 100), 100));
            }
        }
        Instant now = t.plus(Duration.ofMinutes(rnd.nextInt(40 * 24 * 60)));
        return new Scenario(BackupHistory.of(backups, logs), now, zone, seed);
    }

    /** The history after executing {@code plan}: deleted backups and logs gone, tier moves done. */
    static BackupHistory after(BackupHistory h, RetentionPlan plan) {
        List<BackupRecord> kept = new ArrayList<>();
        for (BackupRecord r : h.backups()) {
            if (plan.kept().contains(r.id())) {
                BackupRecord moved = r;
                for (TierMove m : plan.tierMoves()) {
                    if (m.backup().equals(r.id())) {
                        moved = r.toBuilder().tier(m.to()).build();
                    }
                }
                kept.add(moved);
            }
        }
        List<LogSegment> logs = new ArrayList<>(h.logs());
        logs.removeAll(plan.logsToDelete());
        return BackupHistory.of(kept, logs);
    }

    @Override
    public String toString() {
        return "Scenario[seed=" + seed + ", " + history + ", now=" + now + ", zone=" + zone + "]";
    }
}
