package dev.backstop.core;

import dev.backstop.core.internal.chain.DecodingChain;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import java.io.InputStream;

/**
 * Reads the objects of one backup whose manifest was admitted (see {@link Restore#reader}): the
 * narrow view a {@link Validator} needs, without the rest of {@link Restore}.
 *
 * <p><b>Guarantees.</b> Both streams deliver end-of-stream only after their checks passed and
 * throw otherwise, as {@link DecodingChain} describes: an {@link IntegrityException} for data that
 * is not what the manifest records, a {@link StorageException} for a repository that failed or an
 * object that is missing, a {@link BackupException} at {@link Stage#KEY} for an encrypted object
 * read without keys.
 *
 * <p><b>Threading.</b> Thread-safe; each stream is single-threaded. The caller closes the streams.
 */
public interface BackupReader {

    /** The admitted manifest whose objects this reads. */
    Manifest manifest();

    /** The stored bytes of {@code object}, checked against its stored size and SHA-256; needs no keys. */
    InputStream openStored(StoredObject object);

    /** The plaintext of {@code object}, decoded through its recorded transforms and checked end to end. */
    InputStream openDecoded(StoredObject object);
}
