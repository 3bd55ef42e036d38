package dev.backstop.core;

import java.io.IOException;

/**
 * Thrown by a {@link CaptureSource} whose capture process failed; the pipeline turns it into a
 * {@link CaptureException} carrying the exit code, the stderr tail and whether a retry may help.
 *
 * <p>The source decides retryability, because only it can read its failure: a database that
 * refused the connection or was shutting down may be back in a minute, while a wrong password or
 * a missing database stays wrong. A scheduler retries only retryable failures.
 */
public class CaptureFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Integer exitCode;
    private final String stderrTail;
    private final boolean retryable;

    /** A failure that retrying does not fix. */
    public CaptureFailedException(String message, Integer exitCode, String stderrTail, Throwable cause) {
        this(message, exitCode, stderrTail, cause, false);
    }

    /**
     * @param retryable whether running the same capture again may succeed (the server was
     *                  unreachable or restarting), as opposed to a failure of configuration or data
     */
    public CaptureFailedException(String message, Integer exitCode, String stderrTail, Throwable cause, boolean retryable) {
        super(message, cause);
        this.exitCode = exitCode;
        this.stderrTail = stderrTail == null ? "" : stderrTail;
        this.retryable = retryable;
    }

    /** The process's exit code, or null when it did not exit (killed, never started). */
    public Integer exitCode() {
        return exitCode;
    }

    public String stderrTail() {
        return stderrTail;
    }

    /** Whether running the same capture again may succeed. */
    public boolean retryable() {
        return retryable;
    }
}
