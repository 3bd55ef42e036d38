package dev.backstop.core.retention;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.Locale;

/**
 * Test helpers that build backup records. backup-testkit's {@code SyntheticHistory} is the public
 * equivalent; this module's tests cannot use it, since the testkit depends on this module.
 */
final class Backups {
    private static int counter;

    private Backups() {
    }

    static BackupId id(Instant t, BackupType type, int n) {
        String suffix = Integer.toString(n, 36);
        suffix = "000000".substring(suffix.length()) + suffix;
        return BackupId.parse(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
                .withZone(java.time.ZoneOffset.UTC).format(t) + "-" + type.label() + "-" + suffix.toLowerCase(Locale.ROOT));
    }

    static synchronized BackupId id(Instant t) {
        return id(t, BackupType.LOGICAL, counter++);
    }

    /** A backup nobody validated yet, as most are. */
    static BackupRecord snapshot(Instant t) {
        return BackupRecord.builder(id(t)).storedBytes(1000).build();
    }

    static BackupRecord verified(Instant t) {
        return BackupRecord.builder(id(t)).verified().storedBytes(1000).build();
    }

    static Instant local(String dateTime, ZoneId zone) {
        return LocalDateTime.parse(dateTime).atZone(zone).toInstant();
    }
}
