package dev.backstop.core.internal.event;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.event.BackupListener;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Calls a user listener and logs, instead of propagating, whatever it throws. */
public final class GuardedListener implements BackupListener {
    private static final Logger LOG = LoggerFactory.getLogger(GuardedListener.class);

    private final BackupListener delegate;

    public GuardedListener(BackupListener delegate) {
        this.delegate = delegate;
    }

    private void call(String event, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException | Error e) {
            if (e instanceof VirtualMachineError vme) {
                throw vme;
            }
            LOG.warn("listener {} threw from {}; ignored", delegate.getClass().getName(), event, e);
        }
    }

    @Override
    public void backupStarted(BackupId id, CaptureSource source) {
        call("backupStarted", () -> delegate.backupStarted(id, source));
    }

    @Override
    public void objectStored(BackupId id, StoredObject object) {
        call("objectStored", () -> delegate.objectStored(id, object));
    }

    @Override
    public void backupSucceeded(Manifest manifest) {
        call("backupSucceeded", () -> delegate.backupSucceeded(manifest));
    }

    @Override
    public void backupFailed(BackupId id, BackupException failure) {
        call("backupFailed", () -> delegate.backupFailed(id, failure));
    }

    @Override
    public void backupAttemptFailed(BackupId id, BackupException failure, int attempt) {
        call("backupAttemptFailed", () -> delegate.backupAttemptFailed(id, failure, attempt));
    }

    @Override
    public void retryScheduled(BackupException failure, int nextAttempt, java.time.Duration delay) {
        call("retryScheduled", () -> delegate.retryScheduled(failure, nextAttempt, delay));
    }

    @Override
    public void backupExpired(BackupId id, long storedBytes, java.util.List<String> reasons) {
        call("backupExpired", () -> delegate.backupExpired(id, storedBytes, reasons));
    }

    @Override
    public void validated(ValidationResult result) {
        call("validated", () -> delegate.validated(result));
    }

    @Override
    public void restoreFinished(BackupId id, long plaintextBytes, Duration elapsed) {
        call("restoreFinished", () -> delegate.restoreFinished(id, plaintextBytes, elapsed));
    }
}
