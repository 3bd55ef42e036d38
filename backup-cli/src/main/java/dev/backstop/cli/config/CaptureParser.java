package dev.backstop.cli.config;

import dev.backstop.cli.CronSchedule;
import dev.backstop.cli.config.BackstopConfig.Database;
import dev.backstop.cli.config.BackstopConfig.Mode;
import dev.backstop.core.DataSize;
import dev.backstop.core.RateLimit;
import dev.backstop.postgres.physical.BackupLevel;
import java.time.ZoneId;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code backup.level}, {@code backup.schedules}, {@code backup.chainLimit} and {@code
 * backup.rateLimit}: how backups are taken, refused where the configured database cannot take
 * them so (increments need a PostgreSQL data directory).
 */
final class CaptureParser {
    private static final Map<String, BackupLevel> LEVELS = Map.of("full", BackupLevel.FULL, "diff", BackupLevel.DIFF,
            "incr", BackupLevel.INCR);
    private static final Pattern RATE = Pattern.compile("(\\d{1,15}(?:\\.\\d{1,3})?)\\s*([A-Za-z]*)\\s*/\\s*s");
    private static final String RATE_FORM = "a rate like \"50MiB/s\": a number, one of the units B, KiB, MiB, GiB, "
            + "kB, MB, GB (KiB = 1024 bytes, kB = 1000 bytes; bits are not accepted), then \"/s\"; at least 1 KiB/s";

    private CaptureParser() {
    }

    /** Reads the keys of {@code backup} this parser owns; the caller finishes {@code backup}. */
    static Capture capture(ConfigNode backup, Database database, Optional<CronSchedule> schedule, ZoneId zone) {
        Optional<BackupLevel> level = backup.optChoice("level", LEVELS);
        Map<BackupLevel, CronSchedule> schedules = backup.optObject("schedules").map(n -> schedules(n, zone)).orElse(Map.of());
        Optional<Integer> chainLimit = backup.optInt("chainLimit", 1, 100);
        Optional<Capture.Rate> rate = backup.has("rateLimit") ? Optional.of(rate(backup)) : Optional.empty();
        if (!schedules.isEmpty() && schedule.isPresent()) {
            throw new ConfigException(backup.pathOf("schedules"), "conflicts with backup.schedule; give one schedule "
                    + "(backup.schedule, at backup.level) or one per level (backup.schedules), not both");
        }
        if (!schedules.isEmpty() && level.isPresent()) {
            throw new ConfigException(backup.pathOf("level"), "conflicts with backup.schedules, which gives each job its level; "
                    + "backup.level goes with backup.schedule");
        }
        Capture c = new Capture(level.orElse(BackupLevel.FULL), schedules, chainLimit.orElse(7), rate);
        boolean physicalPg = !database.mariadb() && database.mode() == Mode.PHYSICAL;
        if (c.increments() && (database.mariadb() || database.dataDirectory().isEmpty())) {
            String key = level.filter(l -> l != BackupLevel.FULL).isPresent() ? "level" : "schedules";
            throw new ConfigException(backup.pathOf(key), "asks for diff or incr backups, which read a PostgreSQL data "
                    + "directory: set backup.database.mode to \"physical\" and backup.database.dataDirectory to the cluster's "
                    + "data directory on this host" + (database.mariadb() ? " (MariaDB/MySQL backups are full)" : ""));
        }
        if (c.increments() && !physicalPg) {
            throw new ConfigException(backup.pathOf("level"), "asks for diff or incr backups of a physical backup, but "
                    + "backup.database.mode is logical; set it to \"physical\"");
        }
        if (chainLimit.isPresent() && !physicalPg) {
            throw new ConfigException(backup.pathOf("chainLimit"), "limits chains of PostgreSQL physical increments; "
                    + "backup.database is not a physical PostgreSQL backup (\"mode\": \"physical\" with a dataDirectory)");
        }
        return c;
    }

    private static Map<BackupLevel, CronSchedule> schedules(ConfigNode n, ZoneId zone) {
        Map<BackupLevel, CronSchedule> out = new EnumMap<>(BackupLevel.class);
        for (BackupLevel level : BackupLevel.values()) {
            ConfigParser.cron(n, level.label(), zone).ifPresent(c -> out.put(level, c));
        }
        n.finish();
        if (out.isEmpty()) {
            throw new ConfigException(n.path(), "is empty; expected {\"full\": \"0 1 * * 0\", \"diff\": \"0 1 * * 1-6\", "
                    + "\"incr\": \"0 * * * *\"} (any of them)");
        }
        if (!out.containsKey(BackupLevel.FULL)) {
            throw n.missing("full", "a cron expression for the full backups every chain starts from, like \"0 1 * * 0\"");
        }
        return out;
    }

    private static Capture.Rate rate(ConfigNode backup) {
        Optional<ConfigNode> object = backup.optObjectOrValue("rateLimit");
        if (object.isEmpty()) {
            String text = backup.string("rateLimit");
            return new Capture.Rate(Optional.of(bytesPerSecond(backup, "rateLimit", text)), Optional.empty());
        }
        ConfigNode n = object.get();
        Optional<DataSize> reads = n.optString("reads").map(t -> bytesPerSecond(n, "reads", t));
        Optional<DataSize> uploads = n.optString("uploads").map(t -> bytesPerSecond(n, "uploads", t));
        n.finish();
        if (reads.isEmpty() && uploads.isEmpty()) {
            throw new ConfigException(n.path(), "is empty; expected \"reads\" (from the database) and/or \"uploads\" "
                    + "(to the repository), each " + RATE_FORM);
        }
        return new Capture.Rate(reads, uploads);
    }

    /**
     * Parses a rate such as {@code 50MiB/s}, {@code 1.5 GiB/s} or {@code 800kB/s}.
     *
     * @throws ConfigException naming the key, the value and the units allowed
     */
    static DataSize bytesPerSecond(ConfigNode n, String key, String text) {
        Matcher m = RATE.matcher(text.trim());
        if (!m.matches()) {
            throw n.bad(key, text, RATE_FORM);
        }
        long unit = switch (m.group(2)) {
            case "", "B" -> 1;
            case "KiB" -> 1L << 10;
            case "MiB" -> 1L << 20;
            case "GiB" -> 1L << 30;
            case "kB", "KB" -> 1000;
            case "MB" -> 1000_000;
            case "GB" -> 1000_000_000;
            default -> throw n.bad(key, text, "a known unit, but \"" + m.group(2) + "\" is none"
                    + (m.group(2).toLowerCase(Locale.ROOT).endsWith("b") && !m.group(2).endsWith("B") ? " (bits?)" : "")
                    + "; " + RATE_FORM);
        };
        double bytes = Double.parseDouble(m.group(1)) * unit;
        if (bytes < RateLimit.MIN_BYTES_PER_SECOND || bytes > Long.MAX_VALUE / 2) {
            throw n.bad(key, text, RATE_FORM);
        }
        return DataSize.ofBytes((long) bytes);
    }
}
