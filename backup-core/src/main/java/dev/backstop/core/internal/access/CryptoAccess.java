package dev.backstop.core.internal.access;

import dev.backstop.core.BackupId;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.internal.crypto.DataKey;
import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.lang.invoke.MethodHandles;

/**
 * The data-key operations of {@link Encryption} that the pipeline and restore call, so they stay
 * out of the public API. {@link Encryption} installs the one implementation when it is initialised.
 */
public abstract class CryptoAccess {
    private static volatile CryptoAccess instance;

    /** For {@link Encryption} only; a second call fails. */
    public static void install(CryptoAccess access) {
        synchronized (CryptoAccess.class) {
            if (instance != null) {
                throw new IllegalStateException("crypto access is already installed");
            }
            instance = access;
        }
    }

    /** The installed implementation; initialises {@link Encryption} if nothing has yet. */
    public static CryptoAccess get() {
        CryptoAccess a = instance;
        if (a == null) {
            try {
                MethodHandles.lookup().ensureInitialized(Encryption.class);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot initialise " + Encryption.class.getName(), e);
            }
            a = instance;
        }
        return a;
    }

    /** A fresh data key for backup {@code id}, wrapped by the encryption's key-encryption key. */
    public abstract DataKey newDataKey(Encryption encryption, BackupId id);

    /** The transform of backup {@code m}'s data key, unwrapped. */
    public abstract AeadTransform openDataKey(Encryption encryption, Repository repository, Manifest m);

    /** Stores {@code key} wrapped, as the backup's key record. */
    public abstract void storeDataKey(Repository repository, DataKey key) throws IOException;
}
