package dev.backstop.core;

import java.util.Objects;
import java.util.Optional;

/**
 * The one unchecked failure type of Backstop's facade. It names the {@link Stage} that failed,
 * says whether retrying the whole operation may help, and carries the backup id when one exists.
 * Subtypes add detail: {@link CaptureException}, {@link StorageException},
 * {@link IntegrityException}.
 */
public class BackupException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Stage stage;
    private final boolean retryable;
    private final BackupId backupId;

    public BackupException(Stage stage, String message, Throwable cause) {
        this(stage, message, cause, false, null);
    }

    public BackupException(Stage stage, String message, Throwable cause, boolean retryable, BackupId backupId) {
        super("[" + Objects.requireNonNull(stage, "stage") + (backupId == null ? "" : " " + backupId) + "] " + message, cause);
        this.stage = stage;
        this.retryable = retryable;
        this.backupId = backupId;
    }

    public Stage stage() {
        return stage;
    }

    /** Whether running the same operation again may succeed (a transient I/O error, a lock). */
    public boolean retryable() {
        return retryable;
    }

    public Optional<BackupId> backupId() {
        return Optional.ofNullable(backupId);
    }
}
