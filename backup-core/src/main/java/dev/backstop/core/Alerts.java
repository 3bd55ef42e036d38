package dev.backstop.core;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Turns silence into alerts. Cron scripts fail without telling anyone; this listener calls your
 * handler (pager, chat, e-mail) when a backup fails, when a validation fails, and, on {@link
 * #check()}, when no backup has succeeded for longer than the allowed age. The handler runs on
 * the pipeline's thread and is guarded: if it throws, the backup is not affected.
 */
public final class Alerts implements BackupListener {
    /** Why an alert fired. */
    public enum Kind { BACKUP_FAILED, VALIDATION_FAILED, NO_RECENT_BACKUP }

    /** One alert: what, about which backup if any, and a sentence for humans. */
    public record Alert(Kind kind, BackupId backupId, String message, Instant at) {
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
        handler.accept(new Alert(Kind.BACKUP_FAILED, id, "backup " + id + " failed at " + failure.stage() + ": "
                + failure.getMessage(), clock.instant()));
    }

    @Override
    public void validated(ValidationResult r) {
        if (!r.passed()) {
            handler.accept(new Alert(Kind.VALIDATION_FAILED, r.backupId(), r.validator() + " failed for " + r.backupId()
                    + ": " + String.join("; ", r.findings()), clock.instant()));
        }
    }

    /** Fires {@link Kind#NO_RECENT_BACKUP} if the newest success is too old; returns whether it fired. */
    public boolean check() {
        Instant now = clock.instant();
        Instant last = lastSuccess.get();
        Instant reference = last == null ? since : last;
        if (Duration.between(reference, now).compareTo(maxAge) > 0) {
            handler.accept(new Alert(Kind.NO_RECENT_BACKUP, null, last == null
                    ? "no backup has succeeded since " + since + " (allowed age " + maxAge + ")"
                    : "newest backup finished " + last + ", older than the allowed " + maxAge, now));
            return true;
        }
        return false;
    }
}
