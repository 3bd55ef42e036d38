package dev.backstop.core.internal.repo;

import dev.backstop.core.BackupId;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Sink;
import dev.backstop.core.StorageException;
import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.internal.crypto.Sealed;
import dev.backstop.core.internal.layout.RepositoryLayout;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.util.Set;
import java.util.TreeSet;

/** Small-object reads and writes and record lookups of a repository, shared by Backstop's packages. */
public final class RepositoryStore {
    private RepositoryStore() {
    }

    /** Writes a small object (a record, a key) of {@code repository} in one upload and commits it. */
    public static void putSmall(Repository repository, String key, ObjectKind kind, byte[] bytes) throws IOException {
        try (Sink.Upload up = repository.sink().create(key, kind)) {
            try (OutputStream out = up.stream()) {
                out.write(bytes);
            }
            up.commit();
        }
    }

    /** Reads a small object of {@code repository} whole (at most 16 MiB). */
    public static byte[] readSmall(Repository repository, String key) throws IOException {
        try (InputStream in = repository.sink().open(key)) {
            return in.readNBytes(16 * 1024 * 1024);
        }
    }

    /**
     * {@link Repository#putRecord}, with the sink's {@code IOException} kept for Backstop's own
     * callers, which tell an existing immutable record by its type.
     */
    public static void putRecord(Repository repository, String key, String owner, ObjectKind kind, byte[] json)
            throws IOException {
        MetadataKey k = repository.metadataKey(true);
        putSmall(repository, key, kind, k == null ? json : k.sealJson(key, owner, json));
    }

    /**
     * {@link Repository#readRecord}, with the sink's {@code IOException} kept for Backstop's own
     * callers, which tell a missing record by its type.
     */
    public static byte[] readRecord(Repository repository, String key, String owner, String what) throws IOException {
        byte[] stored = readSmall(repository, key);
        if (!repository.keyed()) {
            Sealed s = Sealed.unseal(stored);
            return s == null ? stored : s.content();
        }
        return repository.metadataKey(false).openJson(key, owner, stored, what);
    }

    /** The sink's missing-object signal, for callers that translate it. */
    public static boolean isMissing(IOException e) {
        return e instanceof NoSuchFileException;
    }

    /**
     * The names of the replicas {@code primary} holds copy or verify records of backup {@code
     * id} for, whatever their outcome. Read from the records' keys ({@code <time>-<replica>-<copy|
     * verify>.json}), so a record that cannot be parsed still names its replica.
     */
    public static Set<String> recordedReplicas(Repository primary, BackupId id) {
        String prefix = RepositoryLayout.replicasPrefix(id);
        Set<String> out = new TreeSet<>();
        try {
            for (ObjectInfo o : primary.sink().list(prefix)) {
                RepositoryLayout.replicaOf(o.key(), id).ifPresent(out::add);
            }
        } catch (IOException e) {
            throw StorageException.of(prefix, "could not list replica records: " + e, e, id);
        }
        return out;
    }
}
