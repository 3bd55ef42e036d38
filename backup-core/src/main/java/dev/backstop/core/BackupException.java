package dev.backstop.core;

import java.util.Objects;
import java.util.Optional;

/**
 * The one unchecked failure type of Backstop's facade. It names the {@link Stage} that failed,
 * says whether retrying the whole operation may help, and carries the backup id when one exists.
 * Subtypes add detail: {@link CaptureException}, {@link StorageException},
 * {@link IntegrityException}.
 *
 * <p>The message says what went wrong and nothing else: stage, backup id and retryability are
 * fields, so callers that print or log a failure add them from {@link #stage()}, {@link
 * #backupId()} and {@link #retryable()} in whatever format they need.
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
        super(message, cause);
        this.stage = Objects.requireNonNull(stage, "stage");
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
