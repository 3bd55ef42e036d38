package dev.backstop.core.event;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.ValidationResult;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Structured logs of backups, restores, validations and expiry: one SLF4J 2 event per listener
 * event on the {@code dev.backstop.events} logger, with its figures as key-value pairs (a JSON
 * encoder writes them as fields; a text pattern shows them with {@code %kvp}) and a short message
 * that names the backup. Every event carries {@code event} (such as {@code backup.succeeded}) and
 * {@code backup.id}; while a backup runs the MDC holds {@code backup.id}, {@code backup.stage},
 * {@code correlation.id} and {@code repository} as well (see {@link
 * dev.backstop.core.BackupPipeline}).
 *
 * <p>Levels: milestones at INFO (started, stored, expired, validation passed, restore finished),
 * each stored object at DEBUG, a failed attempt that a retry follows at WARN, a backup that failed
 * for good and a failed validation at ERROR. Nothing secret is logged: sources and sinks keep
 * secrets out of their {@code toString()}.
 *
 * <pre>{@code INFO dev.backstop.events: backup 20261121T031500Z-logical-k3x9q2 stored event=backup.succeeded backup.id=20261121T031500Z-logical-k3x9q2 bytes.in=104857600 bytes.stored=31457280 ratio=3.33 duration.ms=5210}</pre>
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

    private static LoggingEventBuilder event(LoggingEventBuilder b, String event, BackupId id) {
        return b.addKeyValue("event", event).addKeyValue("backup.id", id.value());
    }

    @Override
    public void backupStarted(BackupId id, CaptureSource source) {
        event(log.atInfo(), "backup.started", id).addKeyValue("source", source.toString())
                .log("backup {} started", id);
    }

    @Override
    public void objectStored(BackupId id, StoredObject o) {
        event(log.atDebug(), "object.stored", id).addKeyValue("key", o.key()).addKeyValue("bytes.in", o.plaintextSize())
                .addKeyValue("bytes.stored", o.storedSize()).addKeyValue("sha256.plaintext", o.plaintextSha256().hex())
                .addKeyValue("sha256.stored", o.storedSha256().hex()).log("object {} stored", o.key());
    }

    @Override
    public void backupSucceeded(Manifest m) {
        event(log.atInfo(), "backup.succeeded", m.id()).addKeyValue("bytes.in", m.plaintextBytes())
                .addKeyValue("bytes.stored", m.storedBytes())
                .addKeyValue("ratio", m.storedBytes() == 0 ? "n/a"
                        : String.format(Locale.ROOT, "%.2f", (double) m.plaintextBytes() / m.storedBytes()))
                .addKeyValue("duration.ms", m.duration().toMillis()).log("backup {} stored", m.id());
    }

    @Override
    public void backupFailed(BackupId id, BackupException failure) {
        failed(log.atError(), "backup.failed", id, failure).log("backup {} failed at {}: {}", id, stage(failure),
                failure.getMessage());
    }

    @Override
    public void backupAttemptFailed(BackupId id, BackupException failure, int attempt) {
        // a retry follows: worth a warning, not an error someone is paged for
        failed(log.atWarn(), "backup.retried", id, failure).addKeyValue("attempt", attempt)
                .log("backup {} attempt {} failed at {}, a retry follows: {}", id, attempt, stage(failure),
                        failure.getMessage());
    }

    private static LoggingEventBuilder failed(LoggingEventBuilder b, String event, BackupId id, BackupException failure) {
        return event(b, event, id).addKeyValue("stage", stage(failure)).addKeyValue("retryable", failure.retryable());
    }

    private static String stage(BackupException failure) {
        return failure.stage().name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void backupExpired(BackupId id, long storedBytes, List<String> reasons) {
        event(log.atInfo(), "backup.expired", id).addKeyValue("bytes.freed", storedBytes).addKeyValue("reasons", reasons)
                .log("backup {} deleted: {}", id, String.join("; ", reasons));
    }

    @Override
    public void validated(ValidationResult r) {
        LoggingEventBuilder b = event(r.passed() ? log.atInfo() : log.atError(),
                r.passed() ? "validation.passed" : "validation.failed", r.backupId())
                .addKeyValue("validator", r.validator()).addKeyValue("duration.ms", r.elapsed().toMillis());
        new TreeMap<>(r.measurements()).forEach(b::addKeyValue);
        if (r.passed()) {
            b.log("backup {} passed {}", r.backupId(), r.validator());
        } else {
            b.addKeyValue("findings", r.findings()).log("backup {} failed {}: {} finding(s), first: {}", r.backupId(),
                    r.validator(), r.findings().size(), r.findings().get(0));
        }
    }

    @Override
    public void restoreFinished(BackupId id, long plaintextBytes, Duration elapsed) {
        event(log.atInfo(), "restore.finished", id).addKeyValue("bytes", plaintextBytes)
                .addKeyValue("duration.ms", elapsed.toMillis()).log("restore of {} finished", id);
    }
}
