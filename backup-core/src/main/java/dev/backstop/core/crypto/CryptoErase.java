package dev.backstop.core.crypto;

import dev.backstop.core.BackupId;
import dev.backstop.core.Repository;
import dev.backstop.core.StorageException;
import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.replication.Replication;
import java.io.IOException;
import java.util.List;
import java.util.Set;

/** Crypto-erase: deleting a backup's data key where the records say copies of it are; see {@link Encryption#destroyDataKey}. */
final class CryptoErase {
    private CryptoErase() {
    }

    /** {@link Encryption#destroyDataKey(Repository, BackupId)}. */
    static void destroy(Repository repository, BackupId id) {
        Set<String> replicas = RepositoryStore.recordedReplicas(repository, id);
        if (!replicas.isEmpty()) {
            throw new IllegalStateException("crypto-erase of " + id + ": the backup was copied to replicas " + replicas
                    + ", which would keep its key; erase it everywhere with destroyDataKey(replication, id)");
        }
        delete(repository, id, "the repository");
    }

    /** {@link Encryption#destroyDataKey(Replication, BackupId)}. */
    static List<String> destroy(Replication replication, BackupId id) {
        Set<String> recorded = RepositoryStore.recordedReplicas(replication.primary(), id);
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
            throw StorageException.of(key, "could not delete the data key on " + where + ": " + e, e, id);
        }
    }
}
