package dev.backstop.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.crypto.AeadTransform;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Envelope encryption of backups: every backup gets a fresh random data key that encrypts its
 * objects (Tink streaming AEAD, {@value AeadTransform#ALGORITHM}); the data key is stored only
 * wrapped by a {@link KeyEncryptionKey}, in {@code keys/<backup-id>.dek}.
 *
 * <ul>
 *   <li><b>Rotation</b>: rotate the KEK (new backups use the new key, old ones still open), then
 *       {@link #rewrap} re-wraps stored data keys without touching any data.
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
     * Re-wraps every stored data key not wrapped by the KEK's current key. Data objects and
     * manifests are not touched; a key object is replaced atomically, so a crash leaves each key
     * either old-wrapped or new-wrapped, both readable with the rotated keyset.
     *
     * @return the ids of the backups whose key was re-wrapped
     */
    public List<BackupId> rewrap(Repository repository) {
        List<BackupId> done = new ArrayList<>();
        try {
            for (ObjectInfo o : repository.sink().list(Repository.KEYS)) {
                String name = o.key().substring(Repository.KEYS.length());
                if (!name.endsWith(".dek") || !BackupId.isValid(name.substring(0, name.length() - 4))) {
                    continue;
                }
                BackupId id = BackupId.parse(name.substring(0, name.length() - 4));
                KeyRecord rec = readRecord(repository, id);
                if (rec.kekId.equals(kek.id())) {
                    continue;
                }
                byte[] material = unwrap(rec, id);
                try {
                    byte[] wrapped = kek.wrap(material, context(id));
                    repository.putSmall(o.key(), ObjectKind.KEY, record(id, kek.id(), wrapped));
                } finally {
                    java.util.Arrays.fill(material, (byte) 0);
                }
                done.add(id);
            }
        } catch (GeneralSecurityException e) {
            throw new BackupException(Stage.KEY, "could not re-wrap with " + kek.id() + ": " + e, e);
        } catch (IOException e) {
            throw new StorageException(Repository.KEYS, "could not re-wrap data keys: " + e, e, true, null);
        }
        return done;
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
        Set<String> replicas = Replication.recordedReplicas(repository, id);
        if (!replicas.isEmpty()) {
            throw new IllegalStateException("crypto-erase of " + id + ": the backup was copied to replicas " + replicas
                    + ", which would keep its key; erase it everywhere with destroyDataKey(replication, id)");
        }
        delete(repository, id, "the repository");
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
        Set<String> recorded = Replication.recordedReplicas(replication.primary(), id);
        List<String> configured = replication.replicas().stream().map(Replication.Replica::name).toList();
        List<String> unknown = recorded.stream().filter(n -> !configured.contains(n)).toList();
        if (!unknown.isEmpty()) {
            throw new IllegalStateException("crypto-erase of " + id + ": the primary records copies on replicas " + unknown
                    + " that this replication does not configure (it has " + configured
                    + "); add them with to(name, repository) so their keys are erased too");
        }
        for (Replication.Replica r : replication.replicas()) {
            delete(r.repository(), id, "replica " + r.name());
        }
        delete(replication.primary(), id, "the primary");
        return configured;
    }

    private static void delete(Repository repository, BackupId id, String where) {
        String key = Repository.dataKeyObject(id);
        try {
            repository.sink().delete(key);
        } catch (IOException e) {
            throw new StorageException(key, "could not delete the data key on " + where + ": " + e, e, true, id);
        }
    }

    /** The data-key transform of a stored backup; for restores. */
    AeadTransform openDataKey(Repository repository, Manifest m) {
        byte[] material = unwrap(readRecord(repository, m.id()), m.id());
        try {
            return AeadTransform.withKey(material);
        } finally {
            java.util.Arrays.fill(material, (byte) 0);
        }
    }

    private byte[] unwrap(KeyRecord rec, BackupId id) {
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

    static void storeDataKey(Repository repository, DataKey key) throws IOException {
        repository.putSmall(Repository.dataKeyObject(key.backupId()), ObjectKind.KEY,
                record(key.backupId(), key.kekId(), key.wrapped()));
    }

    private static byte[] context(BackupId id) {
        return ("backstop/dek/v1/" + id.value()).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] record(BackupId id, String kekId, byte[] wrapped) {
        ObjectNode n = JSON.createObjectNode();
        n.put("formatVersion", 1);
        n.put("backupId", id.value());
        n.put("algorithm", AeadTransform.ALGORITHM);
        n.put("kekId", kekId);
        n.put("wrappedKey", Base64.getEncoder().encodeToString(wrapped));
        return (n.toPrettyString() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private record KeyRecord(String kekId, byte[] wrapped) {
    }

    private static KeyRecord readRecord(Repository repository, BackupId id) {
        String key = Repository.dataKeyObject(id);
        byte[] bytes;
        try {
            bytes = repository.readSmall(key);
        } catch (IOException e) {
            if (Repository.isMissing(e)) {
                throw new BackupException(Stage.KEY, "data key " + key + " is missing: the backup was crypto-erased or its key object lost; "
                        + "it cannot be decrypted", e, false, id);
            }
            throw new StorageException(key, "could not read data key: " + e, e, true, id);
        }
        try {
            JsonNode n = JSON.readTree(bytes);
            if (!id.value().equals(n.path("backupId").asText())) {
                throw new IntegrityException(key, "data key owner", id.value(), n.path("backupId").asText(), null, id);
            }
            return new KeyRecord(n.path("kekId").asText(), Base64.getDecoder().decode(n.path("wrappedKey").asText()));
        } catch (IOException | IllegalArgumentException e) {
            throw new IntegrityException(key, "data key record", "a valid key record", String.valueOf(e.getMessage()), e, id);
        }
    }

    @Override
    public String toString() {
        return "Encryption[" + AeadTransform.ALGORITHM + ", kek=" + kek.id() + "]";
    }

    /** One backup's data key: the transform that uses it and its wrapped form. */
    record DataKey(BackupId backupId, AeadTransform transform, String kekId, byte[] wrapped) {
        @Override
        public String toString() {
            return "DataKey[" + backupId + ", kek=" + kekId + "]";
        }
    }
}
