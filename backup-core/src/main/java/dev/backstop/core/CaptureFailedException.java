package dev.backstop.core;

import java.io.IOException;

/**
 * Thrown by a {@link CaptureSource} whose capture process failed; the pipeline turns it into a
 * {@link CaptureException} carrying the exit code and stderr tail.
 */
public class CaptureFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Integer exitCode;
    private final String stderrTail;

    public CaptureFailedException(String message, Integer exitCode, String stderrTail, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
        this.stderrTail = stderrTail == null ? "" : stderrTail;
    }

    /** The process's exit code, or null when it did not exit (killed, never started). */
    public Integer exitCode() {
        return exitCode;
    }

    public String stderrTail() {
        return stderrTail;
    }
}
