package dev.backstop.core.event;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.schedule.BackupScheduler;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.internal.event.GuardedListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Observes backups and restores: the seam for metrics, structured logs and failure alerts.
 *
 * <p><b>Restrictions.</b> Callbacks run on the pipeline's threads and must be fast; they must not
 * throw. Backstop guards the call anyway ({@link #guarded}): an exception from a listener is
 * logged and never fails a backup. All methods default to doing nothing.
 */
public interface BackupListener {

    /** A listener that does nothing. */
    BackupListener NONE = new BackupListener() {
    };

    /** A backup got its id and is about to capture. */
    default void backupStarted(BackupId id, CaptureSource source) {
    }

    /** One data object was committed to the repository. */
    default void objectStored(BackupId id, StoredObject object) {
    }

    /** The manifest is written: the backup exists. */
    default void backupSucceeded(Manifest manifest) {
    }

    /**
     * The backup failed for good; nothing of it is visible. This is where alerts hook in: under a
     * {@link BackupScheduler}, it fires only after the last attempt (an attempt that a retry
     * follows is reported by {@link #backupAttemptFailed} instead).
     */
    default void backupFailed(BackupId id, BackupException failure) {
    }

    /**
     * One attempt failed and the {@link BackupScheduler} will retry it ({@code attempt} counts
     * from 1); nothing of the attempt is visible. Not a reason to alert.
     */
    default void backupAttemptFailed(BackupId id, BackupException failure, int attempt) {
    }

    /**
     * A {@link BackupScheduler} will run attempt {@code nextAttempt} of a backup after {@code
     * delay}, because the previous attempt failed with {@code failure}, which was retryable.
     * Not a reason to alert.
     */
    default void retryScheduled(BackupException failure, int nextAttempt, java.time.Duration delay) {
    }

    /**
     * Expiry deleted a backup (its manifest and objects) for {@code reasons}, the retention
     * plan's sentences.
     */
    default void backupExpired(BackupId id, long storedBytes, java.util.List<String> reasons) {
    }

    /** A validator finished with a result, passed or not. */
    default void validated(ValidationResult result) {
    }

    /** A restore or verification read of a backup finished. */
    default void restoreFinished(BackupId id, long plaintextBytes, java.time.Duration elapsed) {
    }

    /** Both this listener and {@code other}, in that order. */
    default BackupListener plus(BackupListener other) {
        Objects.requireNonNull(other, "other");
        List<BackupListener> all = new ArrayList<>();
        for (BackupListener l : new BackupListener[] {this, other}) {
            if (l instanceof Composite c) {
                all.addAll(c.listeners);
            } else if (l != NONE) {
                all.add(l);
            }
        }
        return all.size() == 1 ? all.get(0) : new Composite(List.copyOf(all));
    }

    /** Wraps {@code listener} so that nothing it throws reaches the caller. */
    static BackupListener guarded(BackupListener listener) {
        return listener instanceof GuardedListener || listener == NONE ? listener : new GuardedListener(listener);
    }

    /** Several listeners called in order. */
    final class Composite implements BackupListener {
        private final List<BackupListener> listeners;

        private Composite(List<BackupListener> listeners) {
            this.listeners = listeners;
        }

        @Override
        public void backupStarted(BackupId id, CaptureSource source) {
            listeners.forEach(l -> l.backupStarted(id, source));
        }

        @Override
        public void objectStored(BackupId id, StoredObject object) {
            listeners.forEach(l -> l.objectStored(id, object));
        }

        @Override
        public void backupSucceeded(Manifest manifest) {
            listeners.forEach(l -> l.backupSucceeded(manifest));
        }

        @Override
        public void backupFailed(BackupId id, BackupException failure) {
            listeners.forEach(l -> l.backupFailed(id, failure));
        }

        @Override
        public void backupAttemptFailed(BackupId id, BackupException failure, int attempt) {
            listeners.forEach(l -> l.backupAttemptFailed(id, failure, attempt));
        }

        @Override
        public void retryScheduled(BackupException failure, int nextAttempt, java.time.Duration delay) {
            listeners.forEach(l -> l.retryScheduled(failure, nextAttempt, delay));
        }

        @Override
        public void backupExpired(BackupId id, long storedBytes, List<String> reasons) {
            listeners.forEach(l -> l.backupExpired(id, storedBytes, reasons));
        }

        @Override
        public void validated(ValidationResult result) {
            listeners.forEach(l -> l.validated(result));
        }

        @Override
        public void restoreFinished(BackupId id, long plaintextBytes, java.time.Duration elapsed) {
            listeners.forEach(l -> l.restoreFinished(id, plaintextBytes, elapsed));
        }
    }
}
