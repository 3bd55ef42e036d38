package dev.backstop.core.crypto;

import static dev.backstop.core.crypto.KeyRecords.context;
import static dev.backstop.core.crypto.KeyRecords.readRecord;
import static dev.backstop.core.crypto.KeyRecords.record;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.DamagedObject;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.StorageException;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.Encryption.Upgrade;
import dev.backstop.core.crypto.KeyRecords.KeyRecord;
import dev.backstop.core.internal.access.CoreAccess;
import dev.backstop.core.internal.crypto.Sealed;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;

/** One run of {@link Encryption#upgrade}: authenticates the key records and manifests of a repository written before metadata authentication. */
final class KeyUpgrade {
    private final Encryption encryption;
    private final KeyEncryptionKey kek;

    KeyUpgrade(Encryption encryption) {
        this.encryption = encryption;
        this.kek = encryption.kek();
    }

    /** {@link Encryption#upgrade}. */
    Upgrade run(Repository repository) {
        Repository keyed = repository.withKeys(kek);
        keyed.metadataKey(true);
        Restore restore = CoreAccess.get().buildForUpgrade(Restore.builder().repository(repository).keys(kek));
        List<BackupId> authenticated = new ArrayList<>();
        List<BackupId> unencrypted = new ArrayList<>();
        List<DamagedObject> refused = new ArrayList<>();
        Repository keyless = Repository.on(repository.sink());
        List<Manifest> manifests;
        try {
            manifests = keyless.catalog().list();
            refused.addAll(keyless.catalog().damaged());
        } catch (IOException e) {
            throw StorageException.of(RepositoryLayout.BACKUPS, "could not list manifests: " + e, e, null);
        }
        for (Manifest m : manifests) {
            String key = Repository.manifestKey(m.id());
            try {
                byte[] stored = RepositoryStore.readSmall(keyless, key);
                if (Sealed.unseal(stored) != null) {
                    keyed.catalog().get(m.id()); // already authenticated: it must verify
                    continue;
                }
                if (m.encryption().isEmpty()) {
                    unencrypted.add(m.id());
                    continue;
                }
                KeyRecord rec = readRecord(keyed, m.id(), true);
                byte[] material = unwrap(rec, m.id());
                try {
                    RepositoryStore.putRecord(keyed, Repository.dataKeyObject(m.id()), m.id().value(), ObjectKind.KEY,
                            record(m.id(), kek.id(), kek.wrap(material, context(m.id()))));
                } finally {
                    java.util.Arrays.fill(material, (byte) 0);
                }
                ValidationResult check = restore.verify(m, Restore.Recording.NONE); // recorded below, once the manifest is sealed
                if (!check.passed()) {
                    refused.add(new DamagedObject(key, "its data does not decode: " + check.findings()));
                    continue;
                }
                // replaceable on purpose: the manifest is swapped for its authenticated form in one atomic write
                RepositoryStore.putSmall(keyed, key, ObjectKind.STATE, keyed.metadataKey(true).sealJson(key, m.id().value(), stored));
                keyed.recordValidation(check);
                authenticated.add(m.id());
            } catch (IntegrityException | GeneralSecurityException e) {
                refused.add(new DamagedObject(key, e.getMessage()));
            } catch (BackupException e) {
                if (e.retryable()) {
                    throw e;
                }
                refused.add(new DamagedObject(key, e.getMessage()));
            } catch (IOException e) {
                throw StorageException.of(key, "could not upgrade: " + e, e, m.id());
            }
        }
        return new Upgrade(authenticated, unencrypted, refused);
    }

    private byte[] unwrap(KeyRecord rec, BackupId id) {
        return encryption.unwrap(rec, id);
    }
}
