package dev.backstop.testkit;

import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;

/**
 * Entry point of the restore assertions, for users' own tests.
 *
 * <pre>{@code
 * assertThatBackup(manifest, restore).isIntact()
 *         .restoresInto(db)
 *         .withSameFingerprints()
 *         .hasRowCount("app.orders", 3000);
 * }</pre>
 */
public final class BackupAssertions {
    private BackupAssertions() {
    }

    /** Assertions about {@code backup}, read through {@code restore} (which holds the keys). */
    public static BackupAssert assertThatBackup(Manifest backup, Restore restore) {
        return new BackupAssert(backup, restore);
    }
}
