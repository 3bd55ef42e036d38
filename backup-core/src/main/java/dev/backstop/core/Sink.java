package dev.backstop.core;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * Where objects land: a filesystem directory, an S3 bucket, ...
 *
 * <p><b>Guarantees an implementation must give.</b> An object becomes visible under its key only
 * when {@link Upload#commit()} returns; until then {@link #list} and {@link #open} do not see it,
 * and a crash leaves at most unlisted temporary data (which a sink that also implements {@link
 * IncompleteWrites} lets {@link Repository#orphans} find). {@link Upload#close()} without a commit
 * aborts. Committing an object whose {@link ObjectKind} is not {@linkplain ObjectKind#replaceable()
 * replaceable} fails with {@link ObjectExistsException} when the key is taken, so a backup can
 * never be overwritten.
 *
 * <p><b>Keys</b> are relative, {@code /}-separated, without {@code .} or {@code ..} segments.
 *
 * <p><b>Threading.</b> A sink is safe for concurrent use; one {@link Upload} is used by one thread
 * at a time.
 */
public interface Sink {

    /** Starts writing an object that will be published under {@code key} on commit. */
    Upload create(String key, ObjectKind kind) throws IOException;

    /**
     * Opens a published object for reading.
     *
     * @throws java.nio.file.NoSuchFileException if no object is published under {@code key}
     */
    InputStream open(String key) throws IOException;

    /** Lists published objects whose key starts with {@code prefix}, sorted by key. */
    List<ObjectInfo> list(String prefix) throws IOException;

    /** Deletes a published object; deleting a missing key is not an error. */
    void delete(String key) throws IOException;

    /**
     * An object being written. Write to {@link #stream()}, then {@link #commit()} to publish or
     * {@link #close()} to throw it away. Closing {@link #stream()} only ends the bytes; it never
     * publishes. Safe to close twice; an error to use after close.
     */
    interface Upload extends Closeable {

        /** Where the object's bytes go. Closing it does not publish. */
        OutputStream stream();

        /** Makes the object durable and visible under its key. Call at most once. */
        void commit() throws IOException;

        /** Discards everything written unless {@link #commit()} succeeded. Never throws. */
        @Override
        void close();
    }
}
