package dev.backstop.core;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.internal.access.CryptoAccess;
import dev.backstop.core.internal.chain.DecodingChain;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.event.ReadProgress;
import java.io.InputStream;
import java.util.function.LongConsumer;

/**
 * Opens the objects of a {@link Restore}'s admitted manifests: the decode context of each object
 * (its binding, and its backup's data key when a decoder asks), the decoding chain, and the
 * {@link BackupReader} validators read through. Admitting the manifest stays with {@code Restore}.
 */
final class BackupObjects {
    private final Repository repository;
    private final Encryption encryption;
    private final DecodingChain chain;
    private final ReadProgress progress;

    BackupObjects(Repository repository, Encryption encryption, DecodingChain chain, ReadProgress progress) {
        this.repository = repository;
        this.encryption = encryption;
        this.chain = chain;
        this.progress = progress;
    }

    InputStream open(Manifest m, StoredObject o) {
        return chain.open(repository.sink(), o, context(m, o), counter(m, o));
    }

    /** What counts the stored bytes of {@code o}; null (no extra stream) without progress. */
    private LongConsumer counter(Manifest m, StoredObject o) {
        return progress == ReadProgress.NONE ? null : n -> progress.storedBytesRead(m.id(), o, n);
    }

    /**
     * The decode context of object {@code o}: its binding, and the backup's data key, unwrapped
     * only when an {@code aead} decoder asks for it.
     */
    private Transform.Context context(Manifest m, StoredObject o) {
        return Transform.Context.of(ObjectBinding.of(m.id(), o.key()), () -> {
            if (m.encryption().isEmpty()) {
                throw new IntegrityException(o.key(), "encryption record", "an encryption section for an encrypted object",
                        "none (manifest inconsistent)", null, m.id());
            }
            if (encryption == null) {
                throw new BackupException(Stage.KEY, "backup " + m.id() + " is encrypted (data key wrapped by "
                        + m.encryption().get().kekId() + ") but this Restore was built without keys(...)", null, false, m.id());
            }
            return CryptoAccess.get().openDataKey(encryption, repository, m);
        });
    }

    /** A reader of the objects of {@code m}, which the caller admitted. */
    BackupReader reader(Manifest m) {
        return new BackupReader() {
            @Override
            public Manifest manifest() {
                return m;
            }

            @Override
            public InputStream openStored(StoredObject object) {
                return DecodingChain.openStored(repository.sink(), object, ObjectBinding.of(m.id(), object.key()), counter(m, object));
            }

            @Override
            public InputStream openDecoded(StoredObject object) {
                return open(m, object);
            }
        };
    }
}
