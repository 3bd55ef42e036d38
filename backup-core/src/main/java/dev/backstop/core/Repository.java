package dev.backstop.core;

import dev.backstop.core.fs.FileSystemSink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A backup repository: a {@link Sink} with Backstop's layout on top of it.
 *
 * <pre>
 *   backups/&lt;id&gt;/manifest.json            written last; its presence = the backup exists
 *   backups/&lt;id&gt;/&lt;stream&gt;                   data objects
 *   backups/&lt;id&gt;/validations/&lt;time&gt;-&lt;validator&gt;.json
 *   keys/&lt;id&gt;.dek                         the backup's wrapped data key
 * </pre>
 *
 * <p>The {@link #catalog()} is nothing but the manifests in the sink, so it can always be rebuilt
 * by listing. Objects without a manifest are garbage from failed or crashed backups; {@link
 * #orphans} finds them and {@link #removeOrphans} deletes them after a grace period that protects
 * backups still being written.
 *
 * <p>Thread-safe when the sink is. Does not own the sink: closing is the caller's business.
 */
public final class Repository {
    static final String BACKUPS = "backups/";
    static final String KEYS = "keys/";
    static final String MANIFEST = "manifest.json";
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final Sink sink;
    private final Catalog catalog;

    private Repository(Sink sink) {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.catalog = new SinkCatalog(this);
    }

    /** A repository stored in {@code sink}. */
    public static Repository on(Sink sink) {
        return new Repository(sink);
    }

    /** A repository in a local directory, created if missing. */
    public static Repository filesystem(Path root) {
        return new Repository(FileSystemSink.open(root));
    }

    public Sink sink() {
        return sink;
    }

    public Catalog catalog() {
        return catalog;
    }

    /** Where the data stream {@code name} of backup {@code id} is stored. */
    public static String dataKey(BackupId id, String name) {
        return BACKUPS + id.value() + "/" + name;
    }

    public static String manifestKey(BackupId id) {
        return BACKUPS + id.value() + "/" + MANIFEST;
    }

    /** Where the wrapped data key of backup {@code id} is stored. */
    public static String dataKeyObject(BackupId id) {
        return KEYS + id.value() + ".dek";
    }

    /** Appends a validation record; records are immutable and never replaced. */
    public void recordValidation(ValidationResult result) {
        String key = BACKUPS + result.backupId().value() + "/validations/" + STAMP.format(result.finishedAt()) + "-"
                + result.validator().replaceAll("[^A-Za-z0-9._-]", "_") + ".json";
        try {
            putSmall(key, ObjectKind.VALIDATION, ManifestFormat.writeValidation(result));
        } catch (IOException e) {
            throw new StorageException(key, "could not write validation record: " + e, e, true, result.backupId());
        }
    }

    /** Validation records of a backup, oldest first. */
    public List<ValidationResult> validations(BackupId id) {
        String prefix = BACKUPS + id.value() + "/validations/";
        try {
            List<ValidationResult> out = new ArrayList<>();
            for (ObjectInfo o : sink.list(prefix)) {
                out.add(ManifestFormat.readValidation(readSmall(o.key()), o.key()));
            }
            return out;
        } catch (IOException e) {
            throw new StorageException(prefix, "could not list validation records: " + e, e, true, id);
        }
    }

    /** The newest validation record of a backup, if any. */
    public Optional<ValidationResult> latestValidation(BackupId id) {
        List<ValidationResult> all = validations(id);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /**
     * Objects that belong to no backup: data and keys of backups without a manifest, last
     * modified before {@code now - grace}. The grace period protects backups still being
     * written; make it longer than your longest backup.
     */
    public List<ObjectInfo> orphans(Instant now, Duration grace) {
        try {
            Set<String> live = new HashSet<>();
            for (ObjectInfo o : sink.list(BACKUPS)) {
                if (o.key().endsWith("/" + MANIFEST)) {
                    live.add(backupDirOf(o.key()));
                }
            }
            Instant cutoff = now.minus(grace);
            List<ObjectInfo> out = new ArrayList<>();
            for (ObjectInfo o : sink.list(BACKUPS)) {
                if (!live.contains(backupDirOf(o.key())) && o.lastModified().isBefore(cutoff)) {
                    out.add(o);
                }
            }
            for (ObjectInfo o : sink.list(KEYS)) {
                String name = o.key().substring(KEYS.length());
                String id = name.endsWith(".dek") ? name.substring(0, name.length() - 4) : name;
                if (!live.contains(id) && o.lastModified().isBefore(cutoff)) {
                    out.add(o);
                }
            }
            return out;
        } catch (IOException e) {
            throw new StorageException(null, "could not list repository: " + e, e, true, null);
        }
    }

    /** Deletes what {@link #orphans} finds; returns what was deleted. */
    public List<ObjectInfo> removeOrphans(Instant now, Duration grace) {
        List<ObjectInfo> found = orphans(now, grace);
        for (ObjectInfo o : found) {
            try {
                sink.delete(o.key());
            } catch (IOException e) {
                throw new StorageException(o.key(), "could not delete orphan: " + e, e, true, null);
            }
        }
        return found;
    }

    private static String backupDirOf(String key) {
        String rest = key.substring(BACKUPS.length());
        int slash = rest.indexOf('/');
        return slash < 0 ? rest : rest.substring(0, slash);
    }

    void putSmall(String key, ObjectKind kind, byte[] bytes) throws IOException {
        try (Sink.Upload up = sink.create(key, kind)) {
            try (OutputStream out = up.stream()) {
                out.write(bytes);
            }
            up.commit();
        }
    }

    byte[] readSmall(String key) throws IOException {
        try (InputStream in = sink.open(key)) {
            return in.readNBytes(16 * 1024 * 1024);
        }
    }

    /** The sink's missing-object signal, for callers that translate it. */
    static boolean isMissing(IOException e) {
        return e instanceof NoSuchFileException;
    }
}
