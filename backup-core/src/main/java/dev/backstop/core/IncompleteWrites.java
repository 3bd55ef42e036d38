package dev.backstop.core;

import java.io.IOException;
import java.util.List;

/**
 * An optional capability of a {@link Sink}: finding and discarding writes that were started and
 * never committed nor aborted, which is what a killed process leaves (the filesystem sink's
 * hidden temporary files, S3's incomplete multipart uploads). {@link Repository#orphans} uses it
 * when the repository's sink offers it; a sink without it simply reports no such debris.
 *
 * <p><b>Guarantees an implementation must give.</b> Only writes of this sink's own making are
 * listed, never published objects. Discarding never touches a published object, and discarding a
 * write that is already gone is not an error. Whether a listed write's writer is still alive is
 * not this interface's business: callers decide by {@link IncompleteWrite#lastActivity()} and the
 * repository's leases.
 */
public interface IncompleteWrites {

    /** The incomplete writes whose key starts with {@code prefix}, sorted by key. */
    List<IncompleteWrite> incompleteWrites(String prefix) throws IOException;

    /** Throws away what {@code write} has stored so far. */
    void discard(IncompleteWrite write) throws IOException;
}
