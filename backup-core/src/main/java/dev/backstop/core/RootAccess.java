package dev.backstop.core;

import dev.backstop.core.internal.access.CoreAccess;
import dev.backstop.core.manifest.Manifest;
import java.time.Clock;
import java.util.function.Predicate;

/** The root package's side of {@link CoreAccess}; installed by {@link Repository}. */
final class RootAccess extends CoreAccess {
    @Override
    public Manifest run(BackupPipeline pipeline, int attempt, Predicate<BackupException> retryFollows) {
        return pipeline.run(attempt, retryFollows);
    }

    @Override
    public ValidationResult reported(Restore restore, ValidationResult r) {
        return restore.reported(r);
    }

    @Override
    public Clock clock(Restore restore) {
        return restore.clock();
    }

    @Override
    public Restore buildForUpgrade(Restore.Builder builder) {
        return builder.buildForUpgrade();
    }
}
