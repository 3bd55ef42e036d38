package dev.backstop.core.log;

import dev.backstop.core.internal.chain.DecodingChain;
import dev.backstop.core.Digest;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.Repository;
import dev.backstop.core.StorageException;
import dev.backstop.core.TransformRegistry;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.retention.LogArchive;
import dev.backstop.core.retention.LogSegment;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The archived log files of one stream of one engine ({@code wal/<system-id>}, {@code
 * binlog/<server-uuid>}) in a {@link Repository}: whole files, and delta objects of the file still
 * being written. The engine supplies its {@link LogNaming} and checks its own bytes; everything
 * stored goes through here. Key names are listed in one place (see the package's {@code LogKeys}).
 *
 * <pre>{@code
 * LogStore logs = LogStore.builder(repository, "binlog/3f2a…", naming).keys(kek).build();
 * logs.put(naming.parse("mysql-bin.000042"), () -> Files.newInputStream(path), size, sha256, Map.of());
 * logs.read(naming.parse("mysql-bin.000042"), out);
 * }</pre>
 *
 * <p><b>Guarantees.</b> Each object is two objects: the data (zstd, then with keys Tink streaming
 * AEAD whose associated data is the object key, so data copied under another name fails to
 * decrypt), then its metadata: JSON with {@code formatVersion}, the transforms as {@link
 * TransformSpec}s, plaintext and stored sizes and SHA-256 digests and the data key's record. With
 * keys the metadata is sealed by the repository's metadata key, and the seal covers the metadata
 * object's own key and the stream, so metadata edited, moved or swapped is refused naming it. The
 * metadata is written last: its presence is what makes an object archived, and a crash in between
 * leaves data that the next {@code put} replaces. Data keys are archive key records of {@link
 * Encryption} ({@code keys/<stream>/<key-id>.dek}), so {@link Encryption#rewrap} re-wraps them
 * with the backups'. Objects are immutable: {@code put} of what is archived with the same content
 * succeeds, with other content it throws {@link IntegrityException} and changes nothing. Reads
 * verify the metadata's authentication, both digests and both sizes; a failure names the object.
 * Gaps are never papered over: {@link #gaps()} reports missing positions and {@link #readDeltas}
 * refuses deltas that do not run gap-free from offset 0.
 *
 * <p><b>Restrictions.</b> One writer per stream at a time; readers may run concurrently. The data
 * key is created on the first write of an instance. Metadata written in an earlier format (the
 * {@code name=value} WAL metadata of formats 1 and 2) is refused with an {@link
 * IntegrityException} naming the format; retention still lists and deletes those objects by name.
 *
 * <p><b>Threading.</b> Thread-safe.
 */
public final class LogStore implements LogArchive {
    /** Opens the bytes to archive; called again if an upload is retried. */
    @FunctionalInterface
    public interface Source {
        InputStream open() throws IOException;
    }

    /** What a {@code put} did. */
    public enum PutResult { ARCHIVED, ALREADY_ARCHIVED }

    private final Repository repository;
    private final KeyEncryptionKey kek;
    private final LogKeys keys;
    private final LogNaming naming;
    private final LogObjects objects;
    private final LogListing listing;

    private LogStore(Builder b) {
        // with keys, metadata is sealed and read through the repository's metadata key
        this.repository = b.kek == null ? b.repository : b.repository.withKeys(b.kek);
        this.kek = b.kek;
        this.keys = new LogKeys(b.stream);
        this.naming = b.naming;
        this.objects = new LogObjects(repository, kek, keys, ZstdTransform.level(b.level), b.clock == null ? Clock.systemUTC() : b.clock,
                DecodingChain.builder().registry(b.registry == null ? TransformRegistry.builtIns() : b.registry).pipelining(false).build());
        this.listing = new LogListing(repository, keys, naming, objects);
    }

    /** An archive of log {@code stream} in {@code repository}, its files named by {@code naming}. */
    public static Builder builder(Repository repository, String stream, LogNaming naming) {
        return new Builder(repository, stream, naming);
    }

    /** The stream, as manifests name it in their required log ranges. */
    public String stream() {
        return keys.stream();
    }

    /** The file called {@code name}, by this archive's naming. */
    public LogFile file(String name) {
        return naming.parse(name);
    }

    /** The key of the data object of {@code file}. */
    public String keyOf(LogFile file) {
        return keys.keyOf(file);
    }

    /** Whether the repository view this archive uses has keys. */
    public boolean keyed() {
        return kek != null;
    }

    /**
     * Archives {@code file} whole: the {@code size} bytes {@code source} gives, whose SHA-256 is
     * {@code sha256} (the caller hashed them first, to compare with what is archived). {@code
     * attributes} are stored in the authenticated metadata.
     *
     * @throws IntegrityException if {@code file} is archived with other content, or the bytes read
     *     are not those announced (the file changed while it was archived)
     * @throws StorageException   if the repository fails
     */
    public PutResult put(LogFile file, Source source, long size, Digest sha256, Map<String, String> attributes) {
        String key = keys.keyOf(file);
        try {
            Optional<LogObject> existing = objects.readMeta(key);
            if (existing.isPresent()) {
                LogObject e = existing.get();
                if (e.plaintextSha256().equals(sha256) && e.plaintextSize() == size) {
                    return PutResult.ALREADY_ARCHIVED;
                }
                throw new IntegrityException(key, "archived content of " + file.name(), e.plaintextSha256() + " ("
                        + e.plaintextSize() + " bytes, already archived)", sha256 + " (" + size + " bytes, offered now): a different "
                        + file.name() + " is already archived; refusing to replace it", null, null);
            }
            objects.upload(key, file, false, 0, size, source, sha256, attributes);
            return PutResult.ARCHIVED;
        } catch (IOException e) {
            throw StorageException.of(key, "could not archive " + file.name() + ": " + e, e, null);
        }
    }

    /**
     * Archives bytes {@code [from, to)} of the unfinished positioned {@code file} as one immutable
     * delta object, encoded like a whole file with the delta's own key as associated data.
     * Archiving the same range with the same bytes again is accepted; with other bytes it is refused.
     *
     * @return the stored size, or 0 if the range was archived already
     * @throws IntegrityException if the range is archived with other bytes, or the bytes read are
     *     not those announced
     */
    public long putDelta(LogFile file, long from, long to, Source source, Digest sha256, Map<String, String> attributes) {
        if (file.kind() != LogFile.Kind.POSITIONED || from < 0 || to <= from) {
            throw new IllegalArgumentException("delta: got " + file.name() + " [" + from + ", " + to + "), need a positioned file and "
                    + "0 <= from < to");
        }
        String key = keys.deltaKey(file, from, to);
        String name = LogKeys.deltaName(file, from, to);
        try {
            Optional<LogObject> existing = objects.readMeta(key);
            if (existing.isPresent()) {
                if (existing.get().plaintextSha256().equals(sha256)) {
                    return 0;
                }
                throw new IntegrityException(key, "archived content of " + name, existing.get().plaintextSha256()
                        + " (already archived)", sha256 + " (offered now): refusing to replace an archived delta", null, null);
            }
            return objects.upload(key, file, true, from, to, source, sha256, attributes);
        } catch (IOException e) {
            throw StorageException.of(key, "could not archive " + name + ": " + e, e, null);
        }
    }

    /** The authenticated metadata of {@code file} archived whole; empty if it is not. */
    public Optional<LogObject> metadata(LogFile file) {
        String key = keys.keyOf(file);
        try {
            return objects.readMeta(key);
        } catch (IOException e) {
            throw StorageException.of(LogKeys.metaOf(key), "could not read metadata: " + e, e, null);
        }
    }

    /** The authenticated metadata of the delta object {@code delta}; empty if its metadata is not stored. */
    public Optional<LogObject> metadata(LogDelta delta) {
        if (!delta.key().startsWith(keys.prefix())) {
            throw new IllegalArgumentException("delta " + delta.key() + " is not in log stream " + keys.stream());
        }
        try {
            return objects.readMeta(delta.key());
        } catch (IOException e) {
            throw StorageException.of(LogKeys.metaOf(delta.key()), "could not read metadata: " + e, e, null);
        }
    }

    /** Whether {@code file} is archived whole (its metadata is stored; it is not read). */
    public boolean contains(LogFile file) {
        String meta = LogKeys.metaOf(keys.keyOf(file));
        try {
            return repository.sink().list(meta).stream().anyMatch(o -> o.key().equals(meta));
        } catch (IOException e) {
            throw StorageException.of(meta, "could not list: " + e, e, null);
        }
    }

    /**
     * Writes {@code file}, archived whole, into {@code out} (left open), verified: authenticated
     * metadata, stored and plaintext digests and sizes. {@code out} has the bytes before they are
     * known good: write to a temporary file and publish it only when this returns.
     *
     * @return false if {@code file} is not archived whole
     * @throws IntegrityException naming the object if anything does not verify
     * @throws StorageException   naming the object if the repository or {@code out} fails
     */
    public boolean read(LogFile file, OutputStream out) {
        String key = keys.keyOf(file);
        try {
            Optional<LogObject> meta = objects.readMeta(key);
            if (meta.isEmpty()) {
                return false;
            }
            objects.decode(meta.get(), out);
            return true;
        } catch (IOException e) {
            throw StorageException.of(key, "could not read " + file.name() + ": " + e, e, null);
        }
    }

    /**
     * Writes the archived prefix of unfinished {@code file} into {@code out} (left open): every
     * delta of the gap-free run from offset 0, each verified like a whole file.
     *
     * @return the length written, or -1 if {@code file} has no deltas
     * @throws IntegrityException if the deltas do not run gap-free from offset 0, or one does not verify
     * @throws StorageException   if the repository or {@code out} fails; its cause is a {@link
     *     NoSuchFileException} if a delta vanished while it was read (the whole file replaced them)
     */
    public long readDeltas(LogFile file, OutputStream out) {
        try {
            return objects.decodeRun(file, deltas(file), out);
        } catch (IOException e) {
            throw StorageException.of(keys.deltasOf(file), "could not read the deltas of " + file.name() + ": " + e, e, null);
        }
    }

    /** Every file archived whole, by epoch then name. */
    public List<LogFile> files() {
        return listing.files();
    }

    /**
     * Every file a reader can be served: {@link #files()} plus the positioned files held only as
     * deltas (whose archived prefix {@link #readDeltas} writes), by epoch then name.
     */
    public List<LogFile> restorable() {
        return listing.restorable();
    }

    /**
     * The positions no whole file holds, between archived positioned files of one epoch, by
     * epoch and position. Before the first and after the last file of an epoch nothing is
     * reported: where a stream starts and how far it got is the caller's question.
     */
    public List<LogGap> gaps() {
        return listing.gaps();
    }

    /** The deltas of {@code file} whose metadata is stored, by offset. */
    public List<LogDelta> deltas(LogFile file) {
        return LogObjects.listedDeltas(objects.list(keys.deltasOf(file)));
    }

    /**
     * The offset up to which the deltas of {@code file} run gap-free from offset 0 (0 if none),
     * from a listing only: where a new writer resumes.
     */
    public long deltaEnd(LogFile file) {
        return DeltaRun.of(deltas(file)).end();
    }

    /**
     * Deletes the deltas of {@code file}; call once it is archived whole. Metadata first, so a
     * crash part-way leaves deltas a later run still finds, never a listed one without data.
     *
     * @return the objects (data and metadata) deleted
     */
    public int deleteDeltas(LogFile file) {
        return objects.deleteAll(objects.list(keys.deltasOf(file)), keys.deltasOf(file));
    }

    /** Deletes every delta whose file is archived whole (what a writer stopped in between leaves); one listing. */
    public int deleteSupersededDeltas() {
        return objects.deleteAll(listing.supersededDeltas(), keys.prefix());
    }

    /**
     * Each positioned file once, with its data and metadata sizes; a file held only as deltas once,
     * as the prefix its gap-free run holds (key {@code <file key>.deltas/}), never once per delta.
     * Side files are kept by retention and not listed.
     */
    @Override
    public List<LogSegment> segments() throws IOException {
        return listing.segments();
    }

    /** Deletes the metadata first, so a crash in between leaves an unarchived leftover, never a hole that looks archived. */
    @Override
    public void delete(LogSegment segment) throws IOException {
        if (!segment.key().startsWith(keys.prefix())) {
            throw new IllegalArgumentException("segment " + segment.key() + " is not in log stream " + keys.stream());
        }
        if (segment.key().endsWith(LogKeys.DELTAS)) {
            objects.deleteAll(repository.sink().list(segment.key()), segment.key());
            return;
        }
        repository.sink().delete(LogKeys.metaOf(segment.key()));
        repository.sink().delete(segment.key());
    }

    /**
     * Copies this stream to every replica of {@code replication}, as {@link LogReplica#copy} does.
     *
     * @return what each copy did, by replica name
     */
    public Map<String, LogReplica.Copied> replicate(dev.backstop.core.replication.Replication replication) {
        Map<String, LogReplica.Copied> out = new TreeMap<>();
        for (dev.backstop.core.replication.Replication.Replica r : replication.replicas()) {
            out.put(r.name(), LogReplica.copy(this, r.repository()));
        }
        return out;
    }

    @Override
    public String toString() {
        return "LogStore[" + keys.stream() + " in " + repository.sink() + (kek == null ? ", unencrypted" : ", kek=" + kek.id()) + "]";
    }

    /** The objects underneath, for {@link LogReplica}. */
    LogObjects objects() {
        return objects;
    }

    /** Builder for {@link LogStore}; not thread-safe; each setting once. */
    public static final class Builder {
        private final Repository repository;
        private final String stream;
        private final LogNaming naming;
        private KeyEncryptionKey kek;
        private int level = 3;
        private boolean levelSet;
        private Clock clock;
        private TransformRegistry registry;

        private Builder(Repository repository, String stream, LogNaming naming) {
            this.repository = Objects.requireNonNull(repository, "repository");
            this.stream = Objects.requireNonNull(stream, "stream");
            this.naming = Objects.requireNonNull(naming, "naming");
            new LogKeys(stream); // validates the stream name now, not at the first write
        }

        /** Encrypts with data keys wrapped by {@code kek} and seals metadata; without it objects are compressed only. */
        public Builder keys(KeyEncryptionKey kek) {
            if (this.kek != null) {
                throw new IllegalStateException("keys: already set to " + this.kek.id());
            }
            this.kek = Objects.requireNonNull(kek, "kek");
            return this;
        }

        /** zstd level, 1..19 (default 3). */
        public Builder compressionLevel(int level) {
            if (levelSet) {
                throw new IllegalStateException("compressionLevel: already set to " + this.level);
            }
            if (level < 1 || level > 19) {
                throw new IllegalArgumentException("compressionLevel: got " + level + ", must be 1..19");
            }
            this.level = level;
            this.levelSet = true;
            return this;
        }

        /**
         * The registry that resolves the recorded transforms when reading (default {@link
         * TransformRegistry#builtIns()}), as for backups.
         */
        public Builder registry(TransformRegistry registry) {
            if (this.registry != null) {
                throw new IllegalStateException("registry: already set");
            }
            this.registry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /** The clock of {@code archivedAt} in metadata (default the system's UTC clock). */
        public Builder clock(Clock clock) {
            if (this.clock != null) {
                throw new IllegalStateException("clock: already set");
            }
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public LogStore build() {
            return new LogStore(this);
        }
    }
}
