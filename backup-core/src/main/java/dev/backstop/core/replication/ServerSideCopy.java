package dev.backstop.core.replication;

import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import java.io.IOException;

/**
 * An optional capability of a {@link Sink}: copying an object from another sink without the
 * bytes passing through this process (S3 CopyObject between buckets of one service).
 * {@link Replication} uses it when the destination offers it and streams otherwise.
 *
 * <p><b>Guarantees an implementation must give.</b> The copy is byte-identical, is published
 * under the same rules as {@link Sink#create} (an immutable kind never replaces an existing
 * object: {@link ObjectExistsException}), and is either whole or absent.
 */
public interface ServerSideCopy {

    /**
     * Copies {@code key} from {@code source} into this sink under the same key.
     *
     * @return false, having done nothing, when this pair of sinks cannot copy server-side (the
     *     caller then streams the object)
     */
    boolean copyFrom(Sink source, String key, ObjectKind kind) throws IOException;
}
