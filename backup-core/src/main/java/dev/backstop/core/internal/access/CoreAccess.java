package dev.backstop.core.internal.access;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import java.lang.invoke.MethodHandles;
import java.time.Clock;
import java.util.function.Predicate;

/**
 * The package-private operations of the root package's entry points that Backstop's other
 * packages call, so they stay out of the public API. The root package installs the one
 * implementation when {@link Repository} is initialised.
 */
public abstract class CoreAccess {
    private static volatile CoreAccess instance;

    /** For the root package only; a second call fails. */
    public static void install(CoreAccess access) {
        synchronized (CoreAccess.class) {
            if (instance != null) {
                throw new IllegalStateException("core access is already installed");
            }
            instance = access;
        }
    }

    /** The installed implementation; initialises the root package if nothing has yet. */
    public static CoreAccess get() {
        CoreAccess a = instance;
        if (a == null) {
            try {
                MethodHandles.lookup().ensureInitialized(Repository.class);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot initialise " + Repository.class.getName(), e);
            }
            a = instance;
        }
        return a;
    }

    /** {@code BackupPipeline.run(attempt, retryFollows)}: one attempt of a scheduled run. */
    public abstract Manifest run(BackupPipeline pipeline, int attempt, Predicate<BackupException> retryFollows);

    /** {@code Restore.reported(r)}: tells the restore's listeners about {@code r}; returns it. */
    public abstract ValidationResult reported(Restore restore, ValidationResult r);

    /** The clock {@code restore} was built with. */
    public abstract Clock clock(Restore restore);

    /** {@code builder.buildForUpgrade()}: a restore that decodes manifests before they are authenticated. */
    public abstract Restore buildForUpgrade(Restore.Builder builder);
}
