package dev.backstop.core.crypto;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.internal.crypto.Sealed;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.repo.ManifestFormat;
import dev.backstop.core.internal.repo.RepositoryStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The metadata-authentication key of one repository: a random 256-bit HMAC-SHA256 key, stored
 * only wrapped by the {@link KeyEncryptionKey} in {@value #OBJECT}, created by the first keyed
 * write. Every object whose content drives a decision (manifests, key records, validation
 * records, holds, expiry journals, log-archive metadata) carries a tag computed with it.
 *
 * <p><b>Guarantees.</b> A tag covers the MAC scheme version, the object's own key in the
 * repository, its owner (the backup id, or the log stream) and the object's bytes. An object
 * edited, copied or moved to another key or owner fails {@link #verify} with an {@link
 * IntegrityException} naming it, and nobody without the KEK can compute a tag.
 *
 * <p><b>Restrictions.</b> An object replaced by an older version of itself, at the same key and
 * for the same owner, still verifies. Deleting an object is not detected by its tag.
 *
 * <p><b>Threading.</b> Immutable and thread-safe. Never reveals key material in {@code toString()}.
 */
public final class MetadataKey {
    /** Where the wrapped metadata key is stored. */
    public static final String OBJECT = RepositoryLayout.METADATA_KEY;
    /** The record format this code writes and reads. */
    public static final int FORMAT_VERSION = 1;
    static final String ALGORITHM = "HMAC-SHA256";
    private static final String SCHEME = "backstop-metadata-mac/v1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String keyId;
    private final SecretKeySpec key;

    private MetadataKey(String keyId, byte[] material) {
        this.keyId = keyId;
        this.key = new SecretKeySpec(material, "HmacSHA256");
    }

    /** The key's id, recorded in every tag so a tag made with another key is named as such. */
    public String keyId() {
        return keyId;
    }

    /**
     * Whether the repository has a metadata key record, i.e. was written by a KEK holder with this
     * format. Anyone can delete the record, so its absence proves nothing to a keyed reader.
     */
    public static boolean exists(Repository repository) {
        try {
            return repository.sink().list(OBJECT).stream().anyMatch(o -> o.key().equals(OBJECT));
        } catch (IOException e) {
            throw StorageException.of(OBJECT, "could not list: " + e, e, null);
        }
    }

    /**
     * The repository's key, unwrapped with {@code kek}.
     *
     * @throws IntegrityException if the record is missing or not a valid record
     * @throws BackupException at {@link Stage#KEY} if {@code kek} cannot unwrap it
     */
    public static MetadataKey load(Repository repository, KeyEncryptionKey kek) {
        byte[] bytes;
        try {
            bytes = RepositoryStore.readSmall(repository, OBJECT);
        } catch (IOException e) {
            if (RepositoryStore.isMissing(e)) {
                throw new IntegrityException(OBJECT, "metadata-authentication key", "a key record written by a KEK holder",
                        "none: the repository's metadata is not authenticated (written before repository format 2, "
                                + "or the record was deleted); a KEK holder upgrades it once with Encryption.upgrade(repository)",
                        e, null);
            }
            throw StorageException.of(OBJECT, "could not read: " + e, e, null);
        }
        return parse(bytes, kek);
    }

    /** The repository's key, created and stored if the repository has none yet. */
    public static MetadataKey loadOrCreate(Repository repository, KeyEncryptionKey kek) {
        if (exists(repository)) {
            return load(repository, kek);
        }
        byte[] material = new byte[32];
        RANDOM.nextBytes(material);
        byte[] idBytes = new byte[8];
        RANDOM.nextBytes(idBytes);
        String id = HexFormat.of().formatHex(idBytes);
        try {
            // created by a conditional write (an immutable kind without object lock), so of two
            // first writers racing, one wins and the other uses the winner's key; rewrap later
            // replaces the record as a KEY object
            RepositoryStore.putSmall(repository, OBJECT, ObjectKind.LOCK, record(id, kek.id(), kek.wrap(material, context(id))));
        } catch (ObjectExistsException e) {
            // another writer created it first
        } catch (GeneralSecurityException e) {
            throw new BackupException(Stage.KEY, "key-encryption key " + kek.id() + " could not wrap the metadata key: " + e, e);
        } catch (IOException e) {
            throw StorageException.of(OBJECT, "could not store the metadata key: " + e, e, null);
        } finally {
            Arrays.fill(material, (byte) 0);
        }
        return load(repository, kek);
    }

    /**
     * Re-wraps the stored key with {@code kek}'s current key if another key wrapped it; the key
     * itself, and so every tag, stays the same. Returns whether the record was rewritten.
     */
    static boolean rewrap(Repository repository, KeyEncryptionKey kek) throws IOException {
        if (!exists(repository)) {
            return false;
        }
        JsonNode n = tree(RepositoryStore.readSmall(repository, OBJECT));
        if (kek.id().equals(n.path("kekId").asText())) {
            return false;
        }
        String id = n.path("keyId").asText();
        byte[] material = unwrap(n, kek);
        try {
            RepositoryStore.putSmall(repository, OBJECT, ObjectKind.KEY, record(id, kek.id(), kek.wrap(material, context(id))));
        } catch (GeneralSecurityException e) {
            throw new BackupException(Stage.KEY, "key-encryption key " + kek.id() + " could not wrap the metadata key: " + e, e);
        } finally {
            Arrays.fill(material, (byte) 0);
        }
        return true;
    }

    /** The tag of {@code content} stored at {@code objectKey} for {@code owner} (a backup id, a log stream, or ""). */
    public byte[] tag(String objectKey, String owner, byte[] content) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(framed(SCHEME));
            mac.update(framed(objectKey));
            mac.update(framed(owner));
            mac.update(content);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is required of every JVM", e);
        }
    }

    /** The text form of a tag as stored: {@code hmac-sha256:<key id>:<hex>}. */
    public String tagText(String objectKey, String owner, byte[] content) {
        return "hmac-sha256:" + keyId + ":" + HexFormat.of().formatHex(tag(objectKey, owner, content));
    }

    /**
     * Checks a tag in its text form.
     *
     * @throws IntegrityException naming {@code objectKey} if the tag does not match
     */
    public void verify(String objectKey, String owner, byte[] content, String tagText) {
        String expected = tagText(objectKey, owner, content);
        if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), tagText.getBytes(StandardCharsets.UTF_8))) {
            String found = tagText.startsWith("hmac-sha256:" + keyId + ":") ? "a tag that does not match"
                    : "a tag made with another key (" + tagText.replaceAll(":[0-9a-f]{64}$", "") + ")";
            throw new IntegrityException(objectKey, "metadata authentication", "a tag by metadata key " + keyId + " for "
                    + (owner.isEmpty() ? "this location" : owner + " at this location"),
                    found + " (edited, forged, or moved/copied from another object)", null, backupIdOf(owner));
        }
    }

    /** A pretty-printed JSON document (ending in {@code \n}}) with an {@code authentication} member appended. */
    public byte[] sealJson(String objectKey, String owner, byte[] document) {
        byte[] content = normalized(document);
        String text = new String(content, StandardCharsets.UTF_8);
        return (text.substring(0, text.length() - 3) + Sealed.LEAD.substring(0, Sealed.LEAD.length() - "hmac-sha256:".length())
                + tagText(objectKey, owner, content) + "\"\n}\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Checks and strips the {@code authentication} member of a JSON document written by {@link
     * #sealJson}; returns the document as it was before sealing.
     *
     * @throws IntegrityException naming {@code objectKey} if the member is missing or wrong
     */
    public byte[] openJson(String objectKey, String owner, byte[] stored, String what) {
        Sealed s = Sealed.unseal(stored);
        if (s == null) {
            throw new IntegrityException(objectKey, what + " authentication", "an \"authentication\" member by metadata key "
                    + keyId, "none (unauthenticated: written without keys, before repository format 2, or forged)", null,
                    backupIdOf(owner));
        }
        verify(objectKey, owner, s.content(), s.tag());
        return s.content();
    }

    private static byte[] normalized(byte[] document) {
        String text = new String(document, StandardCharsets.UTF_8);
        if (text.endsWith("\n")) {
            text = text.substring(0, text.length() - 1);
        }
        if (!text.endsWith("\n}") || text.trim().equals("{\n}") || text.trim().equals("{}")) {
            throw new IllegalArgumentException("sealJson: a pretty-printed, non-empty JSON object is required");
        }
        return (text + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static BackupId backupIdOf(String owner) {
        return BackupId.isValid(owner) ? BackupId.parse(owner) : null;
    }

    private static byte[] framed(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + 4);
        out.write(b.length >>> 24);
        out.write(b.length >>> 16);
        out.write(b.length >>> 8);
        out.write(b.length);
        out.writeBytes(b);
        return out.toByteArray();
    }

    private static MetadataKey parse(byte[] bytes, KeyEncryptionKey kek) {
        JsonNode n;
        try {
            n = tree(bytes);
        } catch (IOException e) {
            throw new IntegrityException(OBJECT, "metadata key record", "a valid record", String.valueOf(e.getMessage()), e, null);
        }
        byte[] material = unwrap(n, kek);
        try {
            return new MetadataKey(n.path("keyId").asText(), material);
        } finally {
            Arrays.fill(material, (byte) 0);
        }
    }

    private static JsonNode tree(byte[] bytes) throws IOException {
        JsonNode n = JSON.readTree(bytes);
        if (n == null || n.path("formatVersion").asInt(-1) != FORMAT_VERSION || !ALGORITHM.equals(n.path("algorithm").asText())
                || n.path("keyId").asText().isEmpty()) {
            throw new IOException("not a format-" + FORMAT_VERSION + " " + ALGORITHM + " key record");
        }
        return n;
    }

    private static byte[] unwrap(JsonNode n, KeyEncryptionKey kek) {
        String id = n.path("keyId").asText();
        try {
            byte[] material = kek.unwrap(Base64.getDecoder().decode(n.path("wrappedKey").asText()), context(id));
            if (material.length != 32) {
                throw new GeneralSecurityException("unwrapped key has " + material.length + " bytes, expected 32");
            }
            return material;
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new BackupException(Stage.KEY, "metadata key " + OBJECT + " (wrapped by " + n.path("kekId").asText()
                    + ") cannot be unwrapped with key-encryption key " + kek.id()
                    + ": wrong or retired KEK, or the record was altered", e, false, null);
        } catch (IOException e) {
            throw new BackupException(Stage.KEY, "key-encryption key " + kek.id() + " unreachable: " + e, e, true, null);
        }
    }

    private static byte[] context(String keyId) {
        return ("backstop/metadata-key/v1/" + keyId).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] record(String keyId, String kekId, byte[] wrapped) {
        ObjectNode n = JSON.createObjectNode();
        n.put("formatVersion", FORMAT_VERSION);
        n.put("purpose", "metadata-authentication");
        n.put("algorithm", ALGORITHM);
        n.put("keyId", keyId);
        n.put("kekId", kekId);
        n.put("wrappedKey", Base64.getEncoder().encodeToString(wrapped));
        return ManifestFormat.pretty(n);
    }

    @Override
    public String toString() {
        return "MetadataKey[" + ALGORITHM + ", id=" + keyId + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetadataKey k && k.keyId.equals(keyId) && MessageDigest.isEqual(k.key.getEncoded(), key.getEncoded());
    }

    @Override
    public int hashCode() {
        return Objects.hash(keyId);
    }
}
