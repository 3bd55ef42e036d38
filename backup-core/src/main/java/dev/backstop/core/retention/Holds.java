package dev.backstop.core.retention;

import dev.backstop.core.internal.repo.RepositoryStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.backstop.core.BackupId;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.StorageException;
import dev.backstop.core.StorageTier;
import dev.backstop.core.internal.layout.FormatVersion;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Pins, legal holds and recorded storage tiers of backups: the mutable state retention reads.
 * Manifests are immutable, so this state lives in small replaceable objects beside them:
 *
 * <pre>
 *   state/backups/&lt;id&gt;/pin          a person pinned the backup (the reason)
 *   state/backups/&lt;id&gt;/legal-hold   the backup is under legal hold (the reason)
 *   state/backups/&lt;id&gt;/tier         the tier its objects were last moved to
 * </pre>
 *
 * <p>Each is a small JSON record ({@code formatVersion} 1: {@code backupId}, {@code what},
 * {@code value}); a record holding the bare reason or tier name, or JSON without a {@code
 * formatVersion}, reads as format 1. A record of a newer format is refused with an {@link
 * IntegrityException} naming it and its version.
 *
 * <p><b>Guarantees.</b> A pinned or legally held backup is never deleted by expiry, whatever the
 * policy. Placing a hold is one atomic object write. Through a keyed repository view ({@link
 * Repository#withKeys}) records are authenticated for their location and backup, and reading one
 * that is not (forged, copied from another backup, or written without keys) fails with an {@link
 * dev.backstop.core.IntegrityException} naming it. A deleted record cannot be detected: removing
 * a hold needs no key.
 *
 * <p><b>Threading.</b> Thread-safe when the repository's sink is.
 */
public final class Holds {
    /** The record format this code writes and reads. */
    static final int FORMAT_VERSION = 1;
    private static final String PREFIX = RepositoryLayout.HOLDS;
    private static final String PIN = RepositoryLayout.PIN;
    private static final String LEGAL_HOLD = RepositoryLayout.LEGAL_HOLD;
    private static final String TIER = RepositoryLayout.TIER;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Repository repository;

    private Holds(Repository repository) {
        this.repository = Objects.requireNonNull(repository, "repository");
    }

    public static Holds of(Repository repository) {
        return new Holds(repository);
    }

    /** Pins an existing backup so no policy deletes it. */
    public void pin(BackupId id, String reason) {
        put(requireExisting(id), PIN, reason);
    }

    public void unpin(BackupId id) {
        remove(id, PIN);
    }

    /** Puts an existing backup under legal hold so no policy deletes it. */
    public void placeLegalHold(BackupId id, String reason) {
        put(requireExisting(id), LEGAL_HOLD, reason);
    }

    public void releaseLegalHold(BackupId id) {
        remove(id, LEGAL_HOLD);
    }

    public Set<BackupId> pinned() {
        return ids(PIN);
    }

    public Set<BackupId> legalHolds() {
        return ids(LEGAL_HOLD);
    }

    /** The tier each backup was last recorded in; backups not listed are in their initial tier. */
    public Map<BackupId, StorageTier> tiers() {
        Map<BackupId, StorageTier> out = new TreeMap<>();
        try {
            for (ObjectInfo o : repository.sink().list(PREFIX)) {
                BackupId id = idOf(o.key(), TIER);
                if (id != null) {
                    out.put(id, StorageTier.valueOf(read(o.key(), id, TIER)));
                }
            }
        } catch (IOException e) {
            throw StorageException.of(PREFIX, "could not read recorded tiers: " + e, e, null);
        } catch (IllegalArgumentException e) {
            throw new StorageException(PREFIX, "could not read recorded tiers: " + e, e, false, null);
        }
        return out;
    }

    void recordTier(BackupId id, StorageTier tier) {
        put(id, TIER, tier.name());
    }

    /** Removes every state object of a deleted backup. */
    void forget(BackupId id) throws IOException {
        for (ObjectInfo o : repository.sink().list(RepositoryLayout.holdsPrefix(id))) {
            repository.sink().delete(o.key());
        }
    }

    private BackupId requireExisting(BackupId id) {
        try {
            if (repository.catalog().get(id).isEmpty()) {
                throw new IllegalArgumentException("backup " + id + ": no such backup in the repository, nothing to hold");
            }
        } catch (IOException e) {
            throw StorageException.of(Repository.manifestKey(id), "could not read manifest: " + e, e, id);
        }
        return id;
    }

    private void put(BackupId id, String what, String body) {
        Objects.requireNonNull(body, "reason");
        String key = RepositoryLayout.holdKey(id, what);
        ObjectNode n = JSON.createObjectNode();
        n.put(FormatVersion.FIELD, FORMAT_VERSION);
        n.put("backupId", id.value());
        n.put("what", what);
        n.put("value", body);
        try {
            RepositoryStore.putRecord(repository, key, id.value(), ObjectKind.STATE,
                    (n.toPrettyString().replace("\r\n", "\n") + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw StorageException.of(key, "could not write " + what + ": " + e, e, id);
        }
    }

    private void remove(BackupId id, String what) {
        String key = RepositoryLayout.holdKey(id, what);
        try {
            repository.sink().delete(key);
        } catch (IOException e) {
            throw StorageException.of(key, "could not remove " + what + ": " + e, e, id);
        }
    }

    private Set<BackupId> ids(String what) {
        Set<BackupId> out = new TreeSet<>();
        try {
            for (ObjectInfo o : repository.sink().list(PREFIX)) {
                BackupId id = idOf(o.key(), what);
                if (id != null) {
                    if (repository.keyed()) {
                        read(o.key(), id, what); // refuses a forged or copied record
                    }
                    out.add(id);
                }
            }
        } catch (IOException e) {
            throw StorageException.of(PREFIX, "could not list " + what + " markers: " + e, e, null);
        }
        return out;
    }

    private static BackupId idOf(String key, String what) {
        return RepositoryLayout.holdOwner(key, what).orElse(null);
    }

    /** The value of a record; a keyed view checks its authentication. */
    private String read(String key, BackupId id, String what) throws IOException {
        byte[] bytes = RepositoryStore.readRecord(repository, key, id.value(), what);
        String text = new String(bytes, StandardCharsets.UTF_8).trim();
        if (!text.startsWith("{")) {
            return text; // a format-1 record from before records were JSON
        }
        JsonNode n = JSON.readTree(bytes);
        FormatVersion.of(n, key, what + " record", FORMAT_VERSION, id);
        if (!id.value().equals(n.path("backupId").asText()) || !what.equals(n.path("what").asText())) {
            throw new IntegrityException(key, what + " record", what + " of " + id, n.path("what").asText() + " of "
                    + n.path("backupId").asText(), null, id);
        }
        return n.path("value").asText();
    }
}
