package dev.backstop.core.crypto;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.internal.crypto.Sealed;
import dev.backstop.core.internal.repo.ManifestFormat;
import dev.backstop.core.internal.repo.RepositoryStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The key records of {@link Encryption}: a backup's data key ({@code keys/<backup-id>.dek}) and a
 * log archive's ({@code keys/<archive>/<key-id>.dek}) as JSON, the context each key is wrapped
 * under, and reading a backup's record back. No key material is unwrapped here.
 */
final class KeyRecords {
    private static final ObjectMapper JSON = new ObjectMapper();

    private KeyRecords() {
    }

    static void requireArchiveName(String name) {
        if (!name.contains("/") || name.startsWith("/") || name.contains("..")) {
            throw new IllegalArgumentException("archive key name '" + name + "': must be a relative path with a '/', "
                    + "e.g. wal/<system-id>/<key-id>");
        }
    }

    static byte[] archiveRecord(String name, byte[] context, String kekId, byte[] wrapped) {
        ObjectNode n = JSON.createObjectNode();
        n.put("formatVersion", 2);
        n.put("owner", name);
        n.put("algorithm", AeadTransform.ALGORITHM);
        n.put("context", new String(context, StandardCharsets.UTF_8));
        n.put("kekId", kekId);
        n.put("wrappedKey", Base64.getEncoder().encodeToString(wrapped));
        return ManifestFormat.pretty(n);
    }

    static byte[] context(BackupId id) {
        return ("backstop/dek/v1/" + id.value()).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] record(BackupId id, String kekId, byte[] wrapped) {
        ObjectNode n = JSON.createObjectNode();
        n.put("formatVersion", 2);
        n.put("backupId", id.value());
        n.put("algorithm", AeadTransform.ALGORITHM);
        n.put("kekId", kekId);
        n.put("wrappedKey", Base64.getEncoder().encodeToString(wrapped));
        return ManifestFormat.pretty(n);
    }

    /** A backup's key record as read: the KEK that wrapped it, the wrapped key, whether it was authenticated. */
    static final class KeyRecord {
        final String kekId;
        final byte[] wrapped;
        final boolean sealed;

        KeyRecord(String kekId, byte[] wrapped, boolean sealed) {
            this.kekId = kekId;
            this.wrapped = wrapped;
            this.sealed = sealed;
        }
    }

    /**
     * Reads a backup's key record; a keyed view checks its authentication. {@code acceptUnsealed}:
     * a format-1 record (no authentication) is returned instead of refused, for callers that then
     * prove it by unwrapping it under the backup's context.
     */
    static KeyRecord readRecord(Repository repository, BackupId id, boolean acceptUnsealed) {
        String key = Repository.dataKeyObject(id);
        byte[] bytes;
        boolean sealed;
        try {
            byte[] stored = RepositoryStore.readSmall(repository, key);
            sealed = Sealed.unseal(stored) != null;
            bytes = acceptUnsealed && !sealed ? stored : RepositoryStore.readRecord(repository, key, id.value(), "data key record");
        } catch (IOException e) {
            if (RepositoryStore.isMissing(e)) {
                throw new BackupException(Stage.KEY, "data key " + key + " is missing: the backup was crypto-erased or its key object lost; "
                        + "it cannot be decrypted", e, false, id);
            }
            throw StorageException.of(key, "could not read data key: " + e, e, id);
        }
        try {
            JsonNode n = JSON.readTree(bytes);
            if (!id.value().equals(n.path("backupId").asText())) {
                throw new IntegrityException(key, "data key owner", id.value(), n.path("backupId").asText(), null, id);
            }
            return new KeyRecord(n.path("kekId").asText(), Base64.getDecoder().decode(n.path("wrappedKey").asText()), sealed);
        } catch (IOException | IllegalArgumentException e) {
            throw new IntegrityException(key, "data key record", "a valid key record", String.valueOf(e.getMessage()), e, id);
        }
    }
}
