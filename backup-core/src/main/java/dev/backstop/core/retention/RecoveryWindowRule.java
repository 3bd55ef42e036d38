package dev.backstop.core.retention;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Point-in-time recovery to any moment of the last {@code window}: a base backup that was
 * consistent at or before the window's start, and every log from it on. Backups are grouped by
 * the log stream they need; backups that need no logs form a group of their own, for which the
 * rule keeps the base backup only.
 */
final class RecoveryWindowRule implements RetentionPolicy {
    private final Duration window;

    RecoveryWindowRule(Duration window) {
        this.window = window;
    }

    @Override
    public Selection select(BackupHistory history, Instant now) {
        Instant start = now.minus(window);
        Map<String, List<BackupRecord>> byStream = new LinkedHashMap<>();
        for (BackupRecord r : history.usable()) {
            String stream = r.requiredLogs().map(l -> l.stream()).orElse("");
            byStream.computeIfAbsent(stream, k -> new ArrayList<>()).add(r);
        }
        String name = "recovery window " + CalendarRule.human(window);
        Selection.Builder b = Selection.builder();
        byStream.forEach((stream, backups) -> {
            BackupRecord base = null;
            for (BackupRecord r : backups) {
                if (!r.finishedAt().isAfter(start)) {
                    base = r;
                }
            }
            String why;
            if (base == null) {
                base = backups.get(0);
                why = "base of " + name + ": oldest backup, the window reaches back before it";
            } else {
                why = "base of " + name + ": newest backup consistent at or before " + start;
            }
            b.keep(base.id(), why);
            BackupRecord chosen = base;
            base.requiredLogs().ifPresent(l -> b.keepLogsFrom(l.stream(), l.start(),
                    name + " from base " + chosen.id()));
        });
        return b.build();
    }

    @Override
    public String toString() {
        return "keepRecoveryWindow(" + window + ")";
    }
}
