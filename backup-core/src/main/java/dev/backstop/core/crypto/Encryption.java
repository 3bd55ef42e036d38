package dev.backstop.core.crypto;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.DamagedObject;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.internal.access.CryptoAccess;
import dev.backstop.core.internal.crypto.DataKey;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.replication.FanOutSink;
import dev.backstop.core.replication.Replication;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import static dev.backstop.core.crypto.KeyRecords.archiveRecord;
import static dev.backstop.core.crypto.KeyRecords.context;
import static dev.backstop.core.crypto.KeyRecords.readRecord;
import static dev.backstop.core.crypto.KeyRecords.record;
import static dev.backstop.core.crypto.KeyRecords.requireArchiveName;

import dev.backstop.core.crypto.KeyRecords.KeyRecord;

/**
 * Envelope encryption of backups: every backup gets a fresh random data key that encrypts its
 * objects (Tink streaming AEAD, {@value AeadTransform#ALGORITHM}); the data key is stored only
 * wrapped by a {@link KeyEncryptionKey}, in {@code keys/<backup-id>.dek}.
 *
 * <ul>
 *   <li><b>Rotation</b>: rotate the KEK (new backups use the new key, old ones still open), then
 *       {@link #rewrap} re-wraps every stored key (backups, log archives, the repository's
 *       {@link MetadataKey}) without touching any data.
 *   <li><b>Crypto-erase</b>: {@link #destroyDataKey(Replication, BackupId)} deletes one backup's
 *       data key on the primary and every replica, which makes that backup unreadable forever,
 *       even from copies of its data objects.
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class Encryption {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final KeyEncryptionKey kek;

    private Encryption(KeyEncryptionKey kek) {
        this.kek = Objects.requireNonNull(kek, "kek");
    }

    static {
        CryptoAccess.install(new CryptoAccess() {
            @Override
            public DataKey newDataKey(Encryption encryption, BackupId id) {
                return encryption.newDataKey(id);
            }

            @Override
            public AeadTransform openDataKey(Encryption encryption, Repository repository, Manifest m) {
                return encryption.openDataKey(repository, m);
            }

            @Override
            public void storeDataKey(Repository repository, DataKey key) throws IOException {
                Encryption.storeDataKey(repository, key);
            }
        });
    }

    /** Encryption with data keys wrapped by {@code kek}. */
    public static Encryption with(KeyEncryptionKey kek) {
        return new Encryption(kek);
    }

    public KeyEncryptionKey kek() {
        return kek;
    }

    /** A fresh data key for one backup. */
    DataKey newDataKey(BackupId id) {
        byte[] material = new byte[AeadTransform.KEY_BYTES];
        RANDOM.nextBytes(material);
        try {
            byte[] wrapped = kek.wrap(material, context(id));
            return new DataKey(id, AeadTransform.withKey(material), kek.id(), wrapped);
        } catch (GeneralSecurityException | IOException e) {
            throw new BackupException(Stage.KEY, "key-encryption key " + kek.id() + " could not wrap the data key: " + e, e,
                    e instanceof IOException, id);
        } finally {
            java.util.Arrays.fill(material, (byte) 0);
        }
    }

    /**
     * Re-wraps every stored key not wrapped by the KEK's current key: the data keys of backups
     * ({@code keys/<id>.dek}), the repository's {@link MetadataKey} and the data keys of log
     * archives ({@code keys/<archive>/...dek}). Data objects and manifests are not touched; a key
     * object is replaced atomically, so a crash leaves each key either old-wrapped or new-wrapped,
     * both readable with the rotated keyset. Every rewritten record is authenticated; a record
     * whose authentication fails is refused with an {@link IntegrityException} naming it.
     *
     * @return the ids of the backups whose key was re-wrapped
     */
    public List<BackupId> rewrap(Repository repository) {
        Repository keyed = repository.withKeys(kek);
        List<BackupId> done = new ArrayList<>();
        try {
            MetadataKey.rewrap(keyed, kek);
            for (ObjectInfo o : keyed.sink().list(RepositoryLayout.KEYS)) {
                Optional<String> name = RepositoryLayout.wrappedKeyName(o.key());
                if (name.isEmpty()) {
                    continue;
                }
                String stem = name.get();
                if (stem.contains("/")) {
                    rewrapArchiveKey(keyed, stem);
                    continue;
                }
                if (!BackupId.isValid(stem)) {
                    continue;
                }
                BackupId id = BackupId.parse(stem);
                // an unauthenticated record (format 1) is accepted here only because unwrapping it
                // with this backup's context proves it was wrapped for this backup by a KEK holder
                KeyRecord rec = readRecord(keyed, id, true);
                if (rec.kekId.equals(kek.id()) && rec.sealed) {
                    continue;
                }
                byte[] material = unwrap(rec, id);
                try {
                    byte[] wrapped = kek.wrap(material, context(id));
                    RepositoryStore.putRecord(keyed, o.key(), id.value(), ObjectKind.KEY, record(id, kek.id(), wrapped));
                } finally {
                    java.util.Arrays.fill(material, (byte) 0);
                }
                done.add(id);
            }
        } catch (GeneralSecurityException e) {
            throw new BackupException(Stage.KEY, "could not re-wrap with " + kek.id() + ": " + e, e);
        } catch (IOException e) {
            throw StorageException.of(RepositoryLayout.KEYS, "could not re-wrap data keys: " + e, e, null);
        }
        return done;
    }

    private void rewrapArchiveKey(Repository keyed, String name) throws IOException, GeneralSecurityException {
        String key = RepositoryLayout.wrappedKey(name);
        JsonNode n = JSON.readTree(RepositoryStore.readRecord(keyed, key, name, "archive key record"));
        if (kek.id().equals(n.path("kekId").asText())) {
            return;
        }
        byte[] context = n.path("context").asText().getBytes(StandardCharsets.UTF_8);
        byte[] material = kek.unwrap(Base64.getDecoder().decode(n.path("wrappedKey").asText()), context);
        try {
            RepositoryStore.putRecord(keyed, key, name, ObjectKind.KEY, archiveRecord(name, context, kek.id(), kek.wrap(material, context)));
        } finally {
            java.util.Arrays.fill(material, (byte) 0);
        }
    }

    /**
     * Stores a data key of a log archive as its own key record, {@code keys/<name>.dek}, so that
     * {@link #rewrap} reaches it: {@code material} wrapped by the KEK under {@code context},
     * authenticated for that location. {@code name} must contain a {@code /} (e.g. {@code
     * wal/<system-id>/<key-id>}), which keeps it apart from the keys of backups.
     *
     * @return the wrapped key as stored
     */
    public byte[] storeArchiveKey(Repository repository, String name, byte[] context, byte[] material) {
        requireArchiveName(name);
        String key = RepositoryLayout.wrappedKey(name);
        try {
            byte[] wrapped = kek.wrap(material, context);
            RepositoryStore.putRecord(keyed(repository), key, name, ObjectKind.KEY, archiveRecord(name, context, kek.id(), wrapped));
            return wrapped;
        } catch (GeneralSecurityException e) {
            throw new BackupException(Stage.KEY, "key-encryption key " + kek.id() + " could not wrap " + key + ": " + e, e);
        } catch (IOException e) {
            throw StorageException.of(key, "could not store the archive key: " + e, e, null);
        }
    }

    /**
     * The key material of archive key record {@code keys/<name>.dek}, unwrapped; empty if there is
     * no such record. The record must authenticate for its location and must have been wrapped
     * under {@code context}.
     *
     * @throws IntegrityException naming the record if its authentication or context is wrong
     */
    public Optional<byte[]> unwrapArchiveKey(Repository repository, String name, byte[] context) {
        requireArchiveName(name);
        String key = RepositoryLayout.wrappedKey(name);
        JsonNode n;
        try {
            n = JSON.readTree(RepositoryStore.readRecord(keyed(repository), key, name, "archive key record"));
        } catch (IOException e) {
            if (RepositoryStore.isMissing(e)) {
                return Optional.empty();
            }
            throw StorageException.of(key, "could not read the archive key: " + e, e, null);
        }
        String ctx = new String(context, StandardCharsets.UTF_8);
        if (!ctx.equals(n.path("context").asText())) {
            throw new IntegrityException(key, "archive key context", ctx, n.path("context").asText(), null, null);
        }
        try {
            return Optional.of(kek.unwrap(Base64.getDecoder().decode(n.path("wrappedKey").asText()), context));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new BackupException(Stage.KEY, "archive key " + key + " (wrapped by " + n.path("kekId").asText()
                    + ") cannot be unwrapped with key-encryption key " + kek.id(), e, false, null);
        } catch (IOException e) {
            throw new BackupException(Stage.KEY, "key-encryption key " + kek.id() + " unreachable: " + e, e, true, null);
        }
    }

    /**
     * A fresh data key for objects of a log archive, stored first as archive key record {@code
     * keys/<name>.dek} (see {@link #storeArchiveKey}) so that {@link #rewrap} reaches every object
     * it encrypts, and returned as the transform that encrypts with it.
     */
    public AeadTransform newArchiveKey(Repository repository, String name, byte[] context) {
        byte[] material = new byte[AeadTransform.KEY_BYTES];
        RANDOM.nextBytes(material);
        try {
            storeArchiveKey(repository, name, context, material);
            return AeadTransform.withKey(material);
        } finally {
            java.util.Arrays.fill(material, (byte) 0);
        }
    }

    /**
     * The transform of archive key record {@code keys/<name>.dek}, unwrapped (see {@link
     * #unwrapArchiveKey}).
     *
     * @throws IntegrityException naming the record if it is missing, or its authentication or
     *     context is wrong
     */
    public AeadTransform archiveKey(Repository repository, String name, byte[] context) {
        byte[] material = unwrapArchiveKey(repository, name, context).orElseThrow(() -> new IntegrityException(
                RepositoryLayout.KEYS + name + ".dek", "archive key record", "the data key the metadata names", "none", null, null));
        try {
            return AeadTransform.withKey(material);
        } finally {
            java.util.Arrays.fill(material, (byte) 0);
        }
    }

    /** The keyed view to use: the caller's if it is one, so its loaded metadata key is reused. */
    private Repository keyed(Repository repository) {
        return repository.keyed() ? repository : repository.withKeys(kek);
    }

    /** What {@link #upgrade} did: backups authenticated, backups left as they were, and why. */
    public record Upgrade(List<BackupId> authenticated, List<BackupId> unencrypted, List<DamagedObject> refused) {
        public Upgrade {
            authenticated = List.copyOf(authenticated);
            unencrypted = List.copyOf(unencrypted);
            refused = List.copyOf(refused);
        }
    }

    /**
     * Upgrades a repository written before metadata authentication (manifest format 1) so that
     * keyed readers accept it: creates the {@link MetadataKey} if missing, then for each
     * encrypted backup whose manifest carries no authentication, decodes every object (AEAD and
     * both digests, as {@link Restore#verify}) and only if all of it checks out authenticates its
     * key record and its manifest (replaced in place, atomically) and records the decode as an
     * authenticated validation. The AEAD binds each object to its backup id and key, so a
     * manifest that survives the decode describes data a KEK holder encrypted for that backup.
     *
     * <p>Unencrypted backups cannot be proven this way and are left unauthenticated (a keyed
     * {@link Restore} reads them only with {@link Restore.Builder#allowUnencrypted}). Backups
     * that fail are left untouched and reported. Idempotent: running it again does nothing new.
     * Needs a sink that can replace a manifest (not one under object lock).
     */
    public Upgrade upgrade(Repository repository) {
        return new KeyUpgrade(this).run(repository);
    }

    /**
     * Deletes the data key of one backup in {@code repository}: the backup can never be decrypted
     * there again. Its manifest and data stay until retention removes them.
     *
     * <p>A backup that {@link Replication} copied elsewhere has its key on the replicas too, and
     * erasing it here alone would leave it readable there. So this refuses, before deleting
     * anything, when {@code repository} holds replica records for the backup; use {@link
     * #destroyDataKey(Replication, BackupId)}.
     *
     * @throws IllegalStateException naming the replicas, if the backup was replicated
     * @throws StorageException if the records cannot be read or the key cannot be deleted
     */
    public static void destroyDataKey(Repository repository, BackupId id) {
        CryptoErase.destroy(repository, id);
    }

    /**
     * Crypto-erases one backup everywhere: deletes its data key on every replica of {@code
     * replication}, then on the primary. Every replica the primary's records name for this backup
     * (copies and verifications, failed ones included) must be configured in {@code replication},
     * or nothing is deleted. Replicas are erased first so that a key gone from the primary means
     * it is gone everywhere; after a failure, run again.
     *
     * <p><b>What remains.</b> Manifests and data objects, which stay unreadable, until retention
     * removes them. Copies the records do not know about: replicas written only by a {@link
     * FanOutSink} (add them to {@code replication} by name), older object versions in a bucket
     * whose sink does not delete versions, and backups of the repository itself. The write-ahead
     * log archive is not per backup: its segments are encrypted with the archive's own data keys,
     * kept in its metadata, so WAL archived around this backup stays readable with the KEK until
     * log retention removes it; a point-in-time recovery can still replay it from another base
     * backup.
     *
     * @return the names of the replicas the key was deleted on, in configuration order
     * @throws IllegalStateException if a recorded replica is not configured in {@code replication}
     * @throws StorageException naming the repository whose key could not be deleted
     */
    public static List<String> destroyDataKey(Replication replication, BackupId id) {
        return CryptoErase.destroy(replication, id);
    }

    /** The data-key transform of a stored backup; for restores. */
    AeadTransform openDataKey(Repository repository, Manifest m) {
        byte[] material = unwrap(readRecord(repository, m.id(), false), m.id());
        try {
            return AeadTransform.withKey(material);
        } finally {
            java.util.Arrays.fill(material, (byte) 0);
        }
    }

    byte[] unwrap(KeyRecord rec, BackupId id) {
        try {
            return kek.unwrap(rec.wrapped, context(id));
        } catch (GeneralSecurityException e) {
            throw new BackupException(Stage.KEY, "data key " + Repository.dataKeyObject(id) + " (wrapped by " + rec.kekId
                    + ") cannot be unwrapped with key-encryption key " + kek.id()
                    + ": wrong or retired KEK, or the key object was altered or belongs to another backup", e, false, id);
        } catch (IOException e) {
            throw new BackupException(Stage.KEY, "key-encryption key " + kek.id() + " unreachable: " + e, e, true, id);
        }
    }

    /** Stores the wrapped data key; a keyed view authenticates the record. */
    static void storeDataKey(Repository repository, DataKey key) throws IOException {
        RepositoryStore.putRecord(repository, Repository.dataKeyObject(key.backupId()), key.backupId().value(), ObjectKind.KEY,
                record(key.backupId(), key.kekId(), key.wrapped()));
    }

    @Override
    public String toString() {
        return "Encryption[" + AeadTransform.ALGORITHM + ", kek=" + kek.id() + "]";
    }
}
