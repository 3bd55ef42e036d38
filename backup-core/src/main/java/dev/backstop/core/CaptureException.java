package dev.backstop.core;

import java.util.OptionalInt;

/**
 * A capture failed: a process exited non-zero or died, or the source could not be read. Carries
 * the exit code and the tail of the process's stderr when there was a process. {@link
 * #retryable()} is what the source said ({@link CaptureFailedException#retryable()}); failures
 * the source did not classify are not retryable.
 */
public final class CaptureException extends BackupException {
    private static final long serialVersionUID = 1L;

    private final Integer exitCode;
    private final String stderrTail;

    /** A capture failure that retrying does not fix. */
    public CaptureException(String message, Integer exitCode, String stderrTail, Throwable cause, BackupId backupId) {
        this(message, exitCode, stderrTail, cause, backupId, false);
    }

    /**
     * A capture failure; {@code retryable} as the source judged it (see {@link
     * CaptureFailedException#retryable()}).
     */
    public CaptureException(String message, Integer exitCode, String stderrTail, Throwable cause, BackupId backupId,
                            boolean retryable) {
        super(Stage.CAPTURE, message
                + (exitCode == null ? "" : " (exit code " + exitCode + ")")
                + (stderrTail == null || stderrTail.isBlank() ? "" : "; stderr: " + stderrTail.strip()),
                cause, retryable, backupId);
        this.exitCode = exitCode;
        this.stderrTail = stderrTail == null ? "" : stderrTail;
    }

    public OptionalInt exitCode() {
        return exitCode == null ? OptionalInt.empty() : OptionalInt.of(exitCode);
    }

    /** The last lines the process wrote to stderr, or empty. */
    public String stderrTail() {
        return stderrTail;
    }
}
