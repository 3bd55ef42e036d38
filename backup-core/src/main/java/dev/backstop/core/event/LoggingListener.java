package dev.backstop.core.event;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.ValidationResult;
import java.time.Duration;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Structured logs of backups, restores and validations: one SLF4J line per event, as
 * {@code key=value} pairs that log shippers parse without a pattern. Failures log at ERROR with the
 * stage; nothing secret is ever logged (sources and sinks keep secrets out of their
 * {@code toString()}).
 *
 * <pre>{@code event=backup_succeeded id=20261121T031500Z-logical-k3x9q2 plaintext_bytes=104857600 stored_bytes=31457280 ratio=3.33 duration_ms=5210 mb_per_s=20.1}</pre>
 */
public final class LoggingListener implements BackupListener {
    private final Logger log;

    private LoggingListener(Logger log) {
        this.log = log;
    }

    /** Logs to the {@code dev.backstop.events} logger. */
    public static LoggingListener create() {
        return new LoggingListener(LoggerFactory.getLogger("dev.backstop.events"));
    }

    @Override
    public void backupStarted(BackupId id, CaptureSource source) {
        log.info("event=backup_started id={} source=\"{}\"", id, source);
    }

    @Override
    public void objectStored(BackupId id, StoredObject o) {
        log.debug("event=object_stored id={} key={} plaintext_bytes={} stored_bytes={} plaintext_sha256={} stored_sha256={}",
                id, o.key(), o.plaintextSize(), o.storedSize(), o.plaintextSha256().hex(), o.storedSha256().hex());
    }

    @Override
    public void backupSucceeded(Manifest m) {
        long ms = Math.max(1, m.duration().toMillis());
        log.info("event=backup_succeeded id={} plaintext_bytes={} stored_bytes={} ratio={} duration_ms={} mb_per_s={}",
                m.id(), m.plaintextBytes(), m.storedBytes(),
                m.storedBytes() == 0 ? "n/a" : String.format(Locale.ROOT, "%.2f", (double) m.plaintextBytes() / m.storedBytes()),
                ms, String.format(Locale.ROOT, "%.1f", m.plaintextBytes() / 1e6 / (ms / 1000.0)));
    }

    @Override
    public void backupFailed(BackupId id, BackupException failure) {
        log.error("event=backup_failed id={} stage={} retryable={} error=\"{}\"", id, failure.stage(), failure.retryable(),
                failure.getMessage().replace('"', '\''));
    }

    @Override
    public void backupAttemptFailed(BackupId id, BackupException failure, int attempt) {
        // a retry follows: worth a warning, not an error someone is paged for
        log.warn("event=backup_attempt_failed id={} attempt={} stage={} error=\"{}\"", id, attempt, failure.stage(),
                failure.getMessage().replace('"', '\''));
    }

    @Override
    public void backupExpired(BackupId id, long storedBytes, java.util.List<String> reasons) {
        log.info("event=backup_expired id={} stored_bytes={} reasons=\"{}\"", id, storedBytes,
                String.join("; ", reasons).replace('"', '\''));
    }

    @Override
    public void validated(ValidationResult r) {
        if (r.passed()) {
            log.info("event=validation_passed id={} validator={} duration_ms={} {}", r.backupId(), r.validator(),
                    r.elapsed().toMillis(), measurements(r));
        } else {
            log.error("event=validation_failed id={} validator={} findings={} first=\"{}\"", r.backupId(), r.validator(),
                    r.findings().size(), r.findings().get(0).replace('"', '\''));
        }
    }

    @Override
    public void restoreFinished(BackupId id, long plaintextBytes, Duration elapsed) {
        log.info("event=restore_finished id={} plaintext_bytes={} duration_ms={}", id, plaintextBytes, elapsed.toMillis());
    }

    private static String measurements(ValidationResult r) {
        StringBuilder b = new StringBuilder();
        new java.util.TreeMap<>(r.measurements()).forEach((k, v) -> b.append(k).append('=').append(v).append(' '));
        return b.toString().trim();
    }
}
