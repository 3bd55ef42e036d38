package dev.backstop.core;

import java.util.List;
import java.util.Objects;

/**
 * What {@link Repository#orphans} found, or what {@link Repository#removeOrphans} removed.
 *
 * @param objects    published objects Backstop wrote that belong to no backup: data objects,
 *                   records and wrapped keys of backups without a manifest
 * @param incomplete writes that were started and never finished (temporary files, incomplete
 *                   multipart uploads) and are older than the grace period
 * @param foreign    objects under {@code backups/} or {@code keys/} whose names Backstop never
 *                   writes; reported so someone looks at them, never deleted
 * @param heldBy     live leases that kept debris from being reported (a writer may be running);
 *                   empty when none did
 */
public record Orphans(List<ObjectInfo> objects, List<IncompleteWrite> incomplete, List<ObjectInfo> foreign,
                      List<String> heldBy) {
    public Orphans {
        objects = List.copyOf(Objects.requireNonNull(objects, "objects"));
        incomplete = List.copyOf(Objects.requireNonNull(incomplete, "incomplete"));
        foreign = List.copyOf(Objects.requireNonNull(foreign, "foreign"));
        heldBy = List.copyOf(Objects.requireNonNull(heldBy, "heldBy"));
    }

    /** Whether there is nothing to remove (foreign objects are never removed, so they do not count). */
    public boolean isEmpty() {
        return objects.isEmpty() && incomplete.isEmpty();
    }
}
