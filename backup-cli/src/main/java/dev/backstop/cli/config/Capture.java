package dev.backstop.cli.config;

import dev.backstop.cli.CronSchedule;
import dev.backstop.core.DataSize;
import dev.backstop.core.RateLimit;
import dev.backstop.postgres.physical.BackupLevel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How backups are taken beyond which database: the level of a PostgreSQL physical backup ({@code
 * backup.level}), a cron schedule per level for {@code backstop run} ({@code backup.schedules}),
 * the longest chain a restore may have to read ({@code backup.chainLimit}) and a bandwidth limit
 * ({@code backup.rateLimit}).
 *
 * <pre>{@code
 * "level": "incr", "chainLimit": 7, "rateLimit": "50MiB/s",
 * "schedules": {"full": "0 1 * * 0", "diff": "0 1 * * 1-6", "incr": "0 7-23 * * *"}
 * }</pre>
 *
 * @param level      the level of {@code backstop backup} without {@code --level} and of the job on
 *                   {@code backup.schedule}; {@link BackupLevel#FULL} unless set
 * @param schedules  a job per level for {@code backstop run}, in place of {@code backup.schedule}
 *                   (empty when not set)
 * @param chainLimit the most backups a restore reads, the full one included; the increment that
 *                   would make a chain longer is taken full (1..100, default 7)
 * @param rateLimit  bytes per second the backup reads from the database and writes to the
 *                   repository, if limited
 */
public record Capture(BackupLevel level, Map<BackupLevel, CronSchedule> schedules, int chainLimit, Optional<Rate> rateLimit) {
    /** Nothing set: full backups, no level schedules, chains of 7, no limit. */
    public static final Capture DEFAULT = new Capture(BackupLevel.FULL, Map.of(), 7, Optional.empty());

    public Capture {
        schedules = Map.copyOf(schedules);
    }

    /** Whether any backup this configuration takes builds on a parent. */
    public boolean increments() {
        return level != BackupLevel.FULL || schedules.keySet().stream().anyMatch(l -> l != BackupLevel.FULL);
    }

    /**
     * A bandwidth limit: {@code reads} is what the backup reads from the database (the source's
     * plaintext bytes), {@code uploads} the stored bytes written to the repository; at least one is
     * set. A plain {@code "rateLimit": "50MiB/s"} limits reads.
     */
    public record Rate(Optional<DataSize> reads, Optional<DataSize> uploads) {
        /** The pipeline's limit. */
        public RateLimit toRateLimit() {
            RateLimit.Builder b = RateLimit.builder();
            reads.ifPresent(b::readsPerSecond);
            uploads.ifPresent(b::uploadsPerSecond);
            return b.build();
        }

        @Override
        public String toString() {
            List<String> l = new ArrayList<>();
            reads.ifPresent(r -> l.add("reads " + r + "/s"));
            uploads.ifPresent(u -> l.add("uploads " + u + "/s"));
            return String.join(", ", l);
        }
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("level ").append(level.label()).append(", chain limit ").append(chainLimit);
        b.append(", rate limit ").append(rateLimit.map(Rate::toString).orElse("(none)"));
        return b.toString();
    }
}
