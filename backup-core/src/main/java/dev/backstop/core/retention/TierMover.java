package dev.backstop.core.retention;

import dev.backstop.core.StorageTier;
import java.io.IOException;

/**
 * Moves a stored object to another storage tier (copy-on-transition: an S3 copy onto itself with
 * a new storage class). Sinks that have tiers provide one; without it, tier moves are left to
 * storage lifecycle rules ({@link LifecycleRules}) and only reported.
 *
 * <p><b>Guarantees an implementation must give.</b> The object stays readable under its key
 * throughout, with the same bytes; moving to the tier it is in is a no-op.
 */
@FunctionalInterface
public interface TierMover {
    void move(String key, StorageTier tier) throws IOException;
}
