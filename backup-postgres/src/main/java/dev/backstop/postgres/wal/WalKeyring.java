package dev.backstop.postgres.wal;

import dev.backstop.core.BackupException;
import dev.backstop.core.Digest;
import dev.backstop.core.Encryption;
import dev.backstop.core.Repository;
import dev.backstop.core.KeyEncryptionKey;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Stage;
import dev.backstop.core.Transform;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.crypto.AeadTransform;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The data keys of one {@link WalArchive}: one data key created on first write and wrapped by the
 * key-encryption key into every metadata object, and the unwrapped keys of what is read, cached by
 * their wrapped form. The wrap context names the cluster, so a metadata object copied into another
 * cluster's archive does not unwrap. Without a key-encryption key both are the identity.
 *
 * <p>Each data key is also stored as an archive key record, {@code keys/wal/<system-id>/<key-id>.dek}
 * (see {@link Encryption#storeArchiveKey}), which the metadata names: {@link Encryption#rewrap}
 * re-wraps those records, so archived WAL stays readable after the KEK it was first wrapped with
 * is retired. Metadata written before the records existed uses its embedded wrapped key.
 *
 * <p>Thread-safe.
 */
final class WalKeyring {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Stand-in for "no encryption" so the chain stays one shape. */
    private static final Transform IDENTITY = new Transform() {
        @Override
        public TransformSpec spec() {
            return new TransformSpec("identity", Map.of());
        }

        @Override
        public OutputStream encode(OutputStream out, ObjectBinding binding) {
            return out;
        }

        @Override
        public InputStream decode(InputStream in, ObjectBinding binding) {
            return in;
        }
    };

    /** The key new objects are encrypted with, and how the metadata names it. */
    record DataKey(Transform transform, String kekId, byte[] wrapped, String record) {
        @Override
        public String toString() {
            return "DataKey[kek=" + kekId + "]";
        }
    }

    private final KeyEncryptionKey kek;
    private final Repository repository;
    private final long systemId;
    private volatile DataKey writeKey;
    private final Map<String, AeadTransform> readKeys = new ConcurrentHashMap<>();

    /** {@code kek} may be null: objects are then stored compressed only. */
    WalKeyring(KeyEncryptionKey kek, Repository repository, long systemId) {
        this.kek = kek;
        this.repository = repository;
        this.systemId = systemId;
    }

    /** The data key of this instance, created and wrapped on first use. */
    DataKey writeKey() {
        DataKey k = writeKey;
        if (k == null) {
            synchronized (this) {
                if (writeKey == null) {
                    writeKey = newDataKey();
                }
                k = writeKey;
            }
        }
        return k;
    }

    private DataKey newDataKey() {
        if (kek == null) {
            return new DataKey(IDENTITY, "", new byte[0], null);
        }
        byte[] material = new byte[AeadTransform.KEY_BYTES];
        RANDOM.nextBytes(material);
        byte[] id = new byte[8];
        RANDOM.nextBytes(id);
        String record = WalKeys.streamOf(systemId) + "/" + HexFormat.of().formatHex(id);
        try {
            // stored before any object uses it, so every archived object's key is reachable by rewrap
            byte[] wrapped = Encryption.with(kek).storeArchiveKey(repository, record, keyContext(), material);
            return new DataKey(AeadTransform.withKey(material), kek.id(), wrapped, record);
        } finally {
            Arrays.fill(material, (byte) 0);
        }
    }

    /** The transform that decrypts the object {@code m} describes. */
    Transform readKey(WalMeta m) {
        if (m.kekId().isEmpty()) {
            return IDENTITY;
        }
        if (kek == null) {
            throw new BackupException(Stage.KEY, m.name() + " is encrypted with key-encryption key " + m.kekId()
                    + ", but this WalArchive was built without keys", null);
        }
        String record = recordOf(m);
        return readKeys.computeIfAbsent(record, k -> {
            byte[] material = null;
            try {
                // the record holds the key as last re-wrapped; the embedded copy only until then
                material = Encryption.with(kek).unwrapArchiveKey(repository, record, keyContext()).orElse(null);
                if (material == null) {
                    material = kek.unwrap(m.wrappedKey(), keyContext());
                }
                return AeadTransform.withKey(material);
            } catch (GeneralSecurityException e) {
                throw new BackupException(Stage.KEY, "the data key of " + m.name() + " (wrapped by " + m.kekId()
                        + ") cannot be unwrapped with key-encryption key " + kek.id(), e, false, null);
            } catch (IOException e) {
                throw new BackupException(Stage.KEY, "key-encryption key " + kek.id() + " unreachable: " + e, e, true, null);
            } finally {
                if (material != null) {
                    Arrays.fill(material, (byte) 0);
                }
            }
        });
    }

    /**
     * The archive key record of an object's data key: the one its metadata names, or for
     * metadata written before records existed, one named after its embedded wrapped key.
     */
    private String recordOf(WalMeta m) {
        if (m.keyRecord() != null) {
            return m.keyRecord();
        }
        return WalKeys.streamOf(systemId) + "/legacy-" + Digest.sha256(m.wrappedKey()).hex().substring(0, 16);
    }

    /**
     * Stores the archive key record of a format-1 object's data key if it has none yet, so that
     * {@link Encryption#rewrap} reaches it; returns whether one was written.
     */
    boolean adopt(WalMeta m) {
        if (m.keyRecord() != null || m.kekId().isEmpty()) {
            return false;
        }
        String record = recordOf(m);
        Encryption encryption = Encryption.with(kek);
        byte[] material = null;
        try {
            material = encryption.unwrapArchiveKey(repository, record, keyContext()).orElse(null);
            if (material != null) {
                return false;
            }
            material = kek.unwrap(m.wrappedKey(), keyContext());
            encryption.storeArchiveKey(repository, record, keyContext(), material);
            return true;
        } catch (GeneralSecurityException e) {
            throw new BackupException(Stage.KEY, "the data key of " + m.name() + " (wrapped by " + m.kekId()
                    + ") cannot be unwrapped with key-encryption key " + kek.id(), e, false, null);
        } catch (IOException e) {
            throw new BackupException(Stage.KEY, "key-encryption key " + kek.id() + " unreachable: " + e, e, true, null);
        } finally {
            if (material != null) {
                Arrays.fill(material, (byte) 0);
            }
        }
    }

    private byte[] keyContext() {
        return ("backstop/wal-dek/v1/" + Long.toUnsignedString(systemId)).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return kek == null ? "unencrypted" : "kek=" + kek.id();
    }
}
