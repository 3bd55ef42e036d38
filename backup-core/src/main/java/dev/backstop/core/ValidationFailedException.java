package dev.backstop.core;

import java.util.Objects;

/**
 * A validation of a backup ran to its end and found the backup wrong: thrown by
 * {@link ValidationResult#orThrow()}. The message names the validator and every finding, {@link
 * #backupId()} the backup; {@link #result()} is the full result (findings and measurements). Never retryable:
 * running the same validator on the same backup finds the same thing.
 */
public final class ValidationFailedException extends BackupException {
    private static final long serialVersionUID = 1L;

    private final transient ValidationResult result;

    public ValidationFailedException(ValidationResult result) {
        super(Stage.VERIFY, "validation by " + Objects.requireNonNull(result, "result").validator() + " failed: "
                + String.join("; ", result.findings()), null, false, result.backupId());
        this.result = result;
    }

    /** The failed result, with its findings and measurements. */
    public ValidationResult result() {
        return result;
    }
}
