package dev.backstop.core;

import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.internal.access.CoreAccess;
import dev.backstop.core.internal.crypto.Sealed;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.internal.repo.ManifestFormat;
import dev.backstop.core.internal.repo.RepositoryStore;
import dev.backstop.core.lock.RepositoryLock;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A backup repository: a {@link Sink} with Backstop's layout on top of it.
 *
 * <pre>
 *   backups/&lt;id&gt;/manifest.json            written last; its presence = the backup exists
 *   backups/&lt;id&gt;/&lt;stream&gt;                   data objects
 *   backups/&lt;id&gt;/validations/&lt;time&gt;-&lt;validator&gt;.json
 *   keys/&lt;id&gt;.dek                         the backup's wrapped data key
 *   keys/metadata.key                       the wrapped metadata-authentication key
 * </pre>
 *
 * <p>The complete layout (locks, holds, journals, the audit log, log archives) is described in
 * the repository format documentation; {@link #manifestKey}, {@link #dataKey} and {@link
 * #dataKeyObject} give the keys a caller may need to find a backup's objects.
 *
 * <p><b>Keyless and keyed views.</b> {@link #on} and {@link #filesystem} give a keyless view:
 * manifests are checked against their own checksum and their location (a manifest stored under
 * another backup's id is reported damaged), which catches accidents but not an attacker with
 * write access. {@link #withKeys} gives a keyed view of the same repository: everything it
 * writes is authenticated with the repository's {@link MetadataKey}, and everything it reads must
 * carry a valid tag for its own key and backup id, or it is refused with an {@link
 * IntegrityException} naming the object (listing reports it in {@link #damaged} instead).
 *
 * <p>The {@link #catalog()} is nothing but the manifests in the sink, so it can always be rebuilt
 * by listing. Objects without a manifest are garbage from failed or crashed backups; {@link
 * #orphans} finds them, with the temporary data of killed writers and anything that Backstop did
 * not write, and {@link #removeOrphans} deletes what Backstop wrote after a grace period that
 * protects backups still being written.
 *
 * <p>Thread-safe when the sink is. Does not own the sink: closing is the caller's business.
 */
public final class Repository {
    // names the encoding chain in this package reads; RepositoryLayout owns them
    static final String BACKUPS = RepositoryLayout.BACKUPS;
    static final String MANIFEST = RepositoryLayout.MANIFEST;
    static final String STREAM_NAME = RepositoryLayout.STREAM_NAME.pattern();

    static {
        CoreAccess.install(new RootAccess());
    }

    private final Sink sink;
    private final Catalog catalog;
    private final KeyEncryptionKey kek;
    private final boolean allowUnencrypted;
    private volatile MetadataKey metadataKey;

    private Repository(Sink sink, KeyEncryptionKey kek, boolean allowUnencrypted) {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.kek = kek;
        this.allowUnencrypted = allowUnencrypted;
        this.catalog = new SinkCatalog(this);
    }

    private Repository(Sink sink) {
        this(sink, null, false);
    }

    /**
     * The keyed view of this repository: metadata it writes is authenticated with the
     * repository's {@link MetadataKey} (created by the first keyed write, wrapped by {@code kek});
     * metadata it reads must authenticate. Shares the sink; cheap to create.
     */
    public Repository withKeys(KeyEncryptionKey kek) {
        return new Repository(sink, Objects.requireNonNull(kek, "kek"), false);
    }

    /** A keyed view that also accepts unauthenticated manifests of unencrypted backups; for {@link Restore}. */
    Repository withKeys(KeyEncryptionKey kek, boolean allowUnencrypted) {
        return new Repository(sink, Objects.requireNonNull(kek, "kek"), allowUnencrypted);
    }

    /** Whether this is a keyed view (see {@link #withKeys}). */
    public boolean keyed() {
        return kek != null;
    }

    boolean allowsUnencrypted() {
        return allowUnencrypted;
    }

    /**
     * The repository's metadata key; null in a keyless view. {@code create}: make one if the
     * repository has none (writers); otherwise a missing record is an {@link IntegrityException}.
     * For formats that authenticate themselves (log-archive metadata); JSON records use {@link
     * #putRecord} and {@link #readRecord}.
     */
    public MetadataKey metadataKey(boolean create) {
        if (kek == null) {
            return null;
        }
        MetadataKey k = metadataKey;
        if (k == null) {
            synchronized (this) {
                if (metadataKey == null) {
                    metadataKey = create ? MetadataKey.loadOrCreate(this, kek) : MetadataKey.load(this, kek);
                }
                k = metadataKey;
            }
        }
        return k;
    }

    /**
     * Writes a small pretty-printed JSON record (at most a few KiB) that drives a decision; a
     * keyed view authenticates it for {@code key} and {@code owner} (a backup id, or another name
     * of what the record belongs to). The caller puts a {@code formatVersion} in it.
     *
     * @throws StorageException naming {@code key} if the repository fails; an immutable record that
     *     exists already is one whose cause is an {@link ObjectExistsException}
     */
    public void putRecord(String key, String owner, ObjectKind kind, byte[] json) {
        try {
            RepositoryStore.putRecord(this, key, owner, kind, json);
        } catch (IOException e) {
            throw StorageException.of(key, "could not write the record: " + e, e, null);
        }
    }

    /**
     * Reads a record written by {@link #putRecord}: in a keyed view its tag is checked and
     * stripped; in a keyless view any tag is stripped unchecked.
     *
     * @param what names the record in messages, e.g. "legal hold"
     * @throws IntegrityException in a keyed view, naming {@code key}, if the record is not
     *     authenticated for {@code key} and {@code owner}
     * @throws StorageException naming {@code key} if the repository fails; a missing record is one
     *     whose cause is a {@link java.nio.file.NoSuchFileException}
     */
    public byte[] readRecord(String key, String owner, String what) {
        try {
            return RepositoryStore.readRecord(this, key, owner, what);
        } catch (IOException e) {
            throw StorageException.of(key, "could not read the " + what + ": " + e, e, null);
        }
    }

    /**
     * Objects that exist but could not be admitted: manifests that are unreadable, fail their
     * checksum, sit under another backup's id, or (in a keyed view) fail authentication. Each
     * names its key and the reason; listing skips them, and neither expiry nor {@link #orphans}
     * deletes anything on their strength.
     */
    public List<DamagedObject> damaged() {
        try {
            return catalog.damaged();
        } catch (IOException e) {
            throw StorageException.of(BACKUPS, "could not list manifests: " + e, e, null);
        }
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

    /**
     * Where the data stream {@code name} of backup {@code id} is stored; an empty {@code name}
     * gives the directory of the backup's objects ({@code backups/<id>/}).
     *
     * @throws IllegalArgumentException if {@code name} is neither empty nor a name a data stream
     *     may have (reserved names such as {@code manifest.json} and {@code validations} included)
     */
    public static String dataKey(BackupId id, String name) {
        return name.isEmpty() ? RepositoryLayout.backupPrefix(id) : RepositoryLayout.dataKey(id, name);
    }

    /** Where the manifest of backup {@code id} is stored. */
    public static String manifestKey(BackupId id) {
        return RepositoryLayout.manifestKey(id);
    }

    /** Where the wrapped data key of backup {@code id} is stored. */
    public static String dataKeyObject(BackupId id) {
        return RepositoryLayout.dataKeyObject(id);
    }

    /**
     * Appends a validation record; records are immutable and never replaced. A keyed view
     * authenticates the record, unless it is the result of a keyless check ({@value
     * #KEYLESS_CHECK}): a check that needs no key proves nothing a KEK holder vouches for.
     */
    public void recordValidation(ValidationResult result) {
        String key = RepositoryLayout.validationKey(result.backupId(), result.finishedAt(), result.validator());
        try {
            byte[] json = ManifestFormat.writeValidation(result);
            if (KEYLESS_CHECK.equals(result.validator())) {
                putSmall(key, ObjectKind.VALIDATION, json);
            } else {
                RepositoryStore.putRecord(this, key, result.backupId().value(), ObjectKind.VALIDATION, json);
            }
        } catch (IOException e) {
            throw StorageException.of(key, "could not write validation record: " + e, e, result.backupId());
        }
    }

    /** The validator name of {@link Restore#verifyStored}, the check that needs no keys. */
    public static final String KEYLESS_CHECK = "stored-checksums";

    /**
     * Validation records of a backup, oldest first. A keyed view returns only authenticated
     * records (those of keyed checks and drills) and refuses a record whose tag is wrong with an
     * {@link IntegrityException} naming it; records without a tag (keyless checks) are left out.
     */
    public List<ValidationResult> validations(BackupId id) {
        String prefix = RepositoryLayout.validationsPrefix(id);
        try {
            List<ValidationResult> out = new ArrayList<>();
            for (ObjectInfo o : sink.list(prefix)) {
                byte[] stored = readSmall(o.key());
                Sealed sealed = Sealed.unseal(stored);
                if (kek != null) {
                    if (sealed == null) {
                        continue;
                    }
                    metadataKey(false).verify(o.key(), id.value(), sealed.content(), sealed.tag());
                }
                ValidationResult r = ManifestFormat.readValidation(sealed == null ? stored : sealed.content(), o.key());
                if (!r.backupId().equals(id)) {
                    throw new IntegrityException(o.key(), "validation record owner", id.value(), r.backupId().value(), null, id);
                }
                out.add(r);
            }
            return out;
        } catch (IOException e) {
            throw StorageException.of(prefix, "could not list validation records: " + e, e, id);
        }
    }

    /**
     * The newest validation record of a backup that can make it verified, if any. In a keyed
     * view: the newest authenticated record. In a keyless view of a repository that has a metadata
     * key: the newest record carrying a tag (unchecked; only a keyed view can check it). In a
     * repository without one (never written with keys): the newest record.
     */
    public Optional<ValidationResult> latestValidation(BackupId id) {
        List<ValidationResult> all;
        if (kek == null && MetadataKey.exists(this)) {
            all = new ArrayList<>();
            String prefix = RepositoryLayout.validationsPrefix(id);
            try {
                for (ObjectInfo o : sink.list(prefix)) {
                    Sealed sealed = Sealed.unseal(readSmall(o.key()));
                    if (sealed != null) {
                        all.add(ManifestFormat.readValidation(sealed.content(), o.key()));
                    }
                }
            } catch (IOException e) {
                throw StorageException.of(prefix, "could not list validation records: " + e, e, id);
            }
        } else {
            all = validations(id);
        }
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /**
     * The garbage that failed and crashed backups leave, and what does not belong in the
     * repository at all.
     *
     * <ul>
     *   <li><b>Objects</b>: data objects, records and wrapped keys of backups that have no
     *       manifest, last modified before {@code now - grace}. A failed backup removes its own
     *       objects; these are what a crash, or a failure to delete, left.
     *   <li><b>Incomplete writes</b> anywhere in the repository whose last activity is before
     *       {@code now - grace}: a killed process's temporary files and unfinished multipart
     *       uploads, when the sink offers {@link IncompleteWrites}.
     *   <li><b>Foreign objects</b>: anything under {@code backups/} or {@code keys/} whose name
     *       Backstop never writes (a directory that is not a backup id, a file beside the
     *       manifest that is neither a stream name nor a record). Reported, never removed.
     * </ul>
     *
     * <p>While any lease of a {@link RepositoryLock} in this repository is live at {@code now},
     * no objects and no incomplete writes are reported: the holder may be the writer, and a
     * long backup's multipart upload can be older than any grace period. {@link Orphans#heldBy}
     * names the leases; a crashed holder's lease ends by its expiry. So do not call this while
     * holding the repository lock yourself. Without a lock, the grace period alone protects
     * running writes: make it longer than your longest backup.
     *
     * <p>Backstop's names cannot tell a file a person dropped into a manifest-less directory
     * named like a backup id, under a stream-like name, from a data object: such a file is
     * reported as an object.
     */
    public Orphans orphans(Instant now, Duration grace) {
        return OrphanSearch.find(sink, catalog, now, grace);
    }

    /**
     * Removes the objects and incomplete writes {@link #orphans} finds; foreign objects are left
     * where they are and reported.
     *
     * @return what was removed, with the foreign objects found
     * @throws StorageException naming the first object that could not be removed; run again
     */
    public Orphans removeOrphans(Instant now, Duration grace) {
        Orphans found = orphans(now, grace);
        for (IncompleteWrite w : found.incomplete()) {
            try {
                ((IncompleteWrites) sink).discard(w);
            } catch (IOException e) {
                throw StorageException.of(w.key(), "could not discard incomplete write " + w.handle() + ": " + e, e, null);
            }
        }
        for (ObjectInfo o : found.objects()) {
            try {
                sink.delete(o.key());
            } catch (IOException e) {
                throw StorageException.of(o.key(), "could not delete orphan: " + e, e, null);
            }
        }
        return found;
    }

    private void putSmall(String key, ObjectKind kind, byte[] bytes) throws IOException {
        RepositoryStore.putSmall(this, key, kind, bytes);
    }

    private byte[] readSmall(String key) throws IOException {
        return RepositoryStore.readSmall(this, key);
    }
}
