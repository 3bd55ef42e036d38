package dev.backstop.core;

import dev.backstop.core.manifest.Manifest;
import java.io.IOException;

/**
 * Checks that a stored backup is what its manifest says, to some depth: stored checksums only
 * (no keys needed), a full decode, or a restore drill into a throwaway database.
 *
 * <p><b>Contract.</b> A validator reports problems it finds in the result ({@link
 * ValidationResult#passed()} false, with findings naming object or table, expected and found);
 * it throws only when it could not do its job at all (repository unreachable). It never changes
 * the backup.
 */
public interface Validator {

    /** A short name for records and logs ({@code stored-checksums}, {@code restore-drill}). */
    String name();

    /** Validates the backup described by {@code manifest}, reading through {@code restore}. */
    ValidationResult validate(Manifest manifest, Restore restore) throws IOException;
}
