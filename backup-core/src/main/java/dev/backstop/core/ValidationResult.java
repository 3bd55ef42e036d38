package dev.backstop.core;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The outcome of one {@link Validator} run: passed or not, every finding as a sentence, and what
 * was measured ({@code rto_ms}, {@code rows}, ...). Stored as a validation record next to the
 * manifest; a backup counts as verified when its newest record passed.
 */
public record ValidationResult(BackupId backupId, String validator, Instant finishedAt, Duration elapsed,
                               List<String> findings, Map<String, String> measurements) {
    public ValidationResult {
        Objects.requireNonNull(backupId, "backupId");
        Objects.requireNonNull(validator, "validator");
        Objects.requireNonNull(finishedAt, "finishedAt");
        Objects.requireNonNull(elapsed, "elapsed");
        findings = List.copyOf(findings);
        measurements = Map.copyOf(measurements);
    }

    /** True when nothing was found wrong. */
    public boolean passed() {
        return findings.isEmpty();
    }

    /**
     * This result if it passed; otherwise throws a {@link ValidationFailedException} (stage
     * {@link Stage#VERIFY}, not retryable) whose message names the validator and every finding,
     * and whose {@link BackupException#backupId()} is the backup. For code that must not go on with a bad backup:
     * {@code restore.verify(backup).orThrow();}
     */
    public ValidationResult orThrow() {
        if (!passed()) {
            throw new ValidationFailedException(this);
        }
        return this;
    }

    @Override
    public String toString() {
        return validator + " " + backupId + ": " + (passed() ? "PASSED" : "FAILED " + findings) + " in " + elapsed.toMillis() + " ms";
    }
}
