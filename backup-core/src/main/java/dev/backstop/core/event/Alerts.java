package dev.backstop.core.event;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.schedule.BackupScheduler;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.ValidationResult;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Turns silence into alerts. Cron scripts fail without telling anyone; this listener calls your
 * handler (pager, chat, e-mail, {@link WebhookAlerts}) when a backup fails for good, when a
 * validation fails, when a key operation fails ({@link #keyOperationFailed}), and, on {@link
 * #check()}, when no backup has succeeded for longer than the allowed age.
 *
 * <p><b>Guarantees.</b> Failure-only: a success never alerts. Under a {@link BackupScheduler}, a
 * failed attempt that a retry follows does not alert ({@link BackupListener#backupAttemptFailed});
 * only the failure after the last attempt does.
 *
 * <p><b>Threading.</b> The handler runs on the pipeline's thread and is guarded: if it throws,
 * the backup is not affected. A handler that does I/O should hand off, as {@link WebhookAlerts}
 * does.
 */
public final class Alerts implements BackupListener {
    /** Why an alert fired. */
    public enum Kind {
        /** A backup failed after its retries. */
        BACKUP_FAILED,
        /** A validation (checksums, restore drill) found a mismatch or could not run. */
        VALIDATION_FAILED,
        /** No backup succeeded within the allowed age. */
        NO_RECENT_BACKUP,
        /** A key operation (rotation, rewrap, erase, unwrap) failed. */
        KEY_OPERATION_FAILED,
        /** WAL archiving stopped or fell behind: the recovery point is older than allowed. */
        WAL_RPO,
        /**
         * Binlog streaming (MariaDB, MySQL) stopped, found a gap (a binlog purged before it was
         * archived), or fell behind: the recovery point is older than allowed.
         */
        BINLOG_RPO,
        /** A replica's newest copy is older than allowed. */
        REPLICA_BEHIND;

        /** The anchor of this kind's runbook in docs/operations.md, e.g. {@code runbook-backup-failed}. */
        public String runbookAnchor() {
            return "runbook-" + name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /**
     * One alert: what, about what ({@code subject}: the backup type and stage of a failed backup,
     * the validator and backup of a failed validation, the operation and key of a key failure;
     * repeats of one kind and subject are one problem), about which backup if any, and a sentence
     * for humans.
     */
    public record Alert(Kind kind, String subject, BackupId backupId, String message, Instant at) {
        public Alert {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(message, "message");
            Objects.requireNonNull(at, "at");
        }
    }

    private final Consumer<Alert> handler;
    private final Duration maxAge;
    private final Clock clock;
    private final Instant since;
    private final AtomicReference<Instant> lastSuccess = new AtomicReference<>();

    private Alerts(Consumer<Alert> handler, Duration maxAge, Clock clock) {
        this.handler = handler;
        this.maxAge = maxAge;
        this.clock = clock;
        this.since = clock.instant();
    }

    /**
     * Alerts to {@code handler}; {@link #check()} also fires when the newest success is older than
     * {@code maxAge} (counted from creation while there was none).
     */
    public static Alerts to(Consumer<Alert> handler, Duration maxAge, Clock clock) {
        if (maxAge.isNegative() || maxAge.isZero()) {
            throw new IllegalArgumentException("maxAge: got " + maxAge + ", must be positive");
        }
        return new Alerts(Objects.requireNonNull(handler, "handler"), maxAge, Objects.requireNonNull(clock, "clock"));
    }

    @Override
    public void backupSucceeded(Manifest manifest) {
        lastSuccess.set(manifest.finishedAt());
    }

    @Override
    public void backupFailed(BackupId id, BackupException failure) {
        handler.accept(new Alert(Kind.BACKUP_FAILED, id.type() + " backup at " + failure.stage(), id, "backup " + id + " failed at " + failure.stage() + ": "
                + failure.getMessage(), clock.instant()));
    }

    @Override
    public void validated(ValidationResult r) {
        if (!r.passed()) {
            handler.accept(new Alert(Kind.VALIDATION_FAILED, r.validator() + " of " + r.backupId(), r.backupId(), r.validator() + " failed for " + r.backupId()
                    + ": " + String.join("; ", r.findings()), clock.instant()));
        }
    }

    /**
     * Fires {@link Kind#KEY_OPERATION_FAILED}: {@code operation} (e.g. {@code rotate}, {@code
     * rewrap}, {@code erase}) on key {@code keyId} failed with {@code failure}. Key operations run
     * outside the pipeline, so their callers report here.
     */
    public void keyOperationFailed(String operation, String keyId, Exception failure) {
        handler.accept(new Alert(Kind.KEY_OPERATION_FAILED, operation + " of key " + keyId, null,
                "key operation " + operation + " on key " + keyId + " failed: " + failure.getMessage(), clock.instant()));
    }

    /**
     * Fires {@link Kind#NO_RECENT_BACKUP} if the newest <i>verified</i> backup finished longer
     * than the allowed age ago (with none, counted from this object's creation); returns whether
     * it fired. The caller reads {@code newestVerified} from the repository, for example {@code
     * expiry.history().newestVerified().map(BackupRecord::finishedAt)}, so the check needs no
     * memory of earlier events and holds across restarts. A daemon calls it on a timer.
     */
    public boolean checkVerified(Optional<Instant> newestVerified) {
        Instant now = clock.instant();
        Instant reference = newestVerified.orElse(since);
        if (Duration.between(reference, now).compareTo(maxAge) > 0) {
            handler.accept(new Alert(Kind.NO_RECENT_BACKUP, "newest verified backup", null, newestVerified.isEmpty()
                    ? "no backup has been verified since " + since + " (allowed age " + maxAge + ")"
                    : "newest verified backup finished " + newestVerified.get() + ", older than the allowed " + maxAge, now));
            return true;
        }
        return false;
    }

    /** Fires {@link Kind#NO_RECENT_BACKUP} if the newest success is too old; returns whether it fired. */
    public boolean check() {
        Instant now = clock.instant();
        Instant last = lastSuccess.get();
        Instant reference = last == null ? since : last;
        if (Duration.between(reference, now).compareTo(maxAge) > 0) {
            handler.accept(new Alert(Kind.NO_RECENT_BACKUP, "newest backup", null, last == null
                    ? "no backup has succeeded since " + since + " (allowed age " + maxAge + ")"
                    : "newest backup finished " + last + ", older than the allowed " + maxAge, now));
            return true;
        }
        return false;
    }
}
