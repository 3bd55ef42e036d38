package dev.backstop.postgres.wal;

import dev.backstop.core.BackupException;
import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.KeyEncryptionKey;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.retention.LogArchive;
import dev.backstop.core.retention.LogSegment;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The archived WAL of one PostgreSQL cluster (one system identifier) in a {@link Repository}:
 * segments, partial segments and timeline history files under {@code wal/<system-id>/<timeline>/}.
 *
 * <pre>{@code
 * WalArchive archive = WalArchive.builder(repository, systemId).keys(kek).build();
 * archive.put(Path.of("pg_wal/000000010000000000000003"), "000000010000000000000003");
 * archive.get("000000010000000000000003", Path.of("/restore/pg_wal/RECOVERYXLOG"));
 * }</pre>
 *
 * <p><b>Guarantees.</b> Every file goes through zstd and, with keys, Tink streaming AEAD whose
 * associated data is the object key, so a segment copied under another name fails to decrypt.
 * Each file is two objects: the data, then a small metadata object with the plaintext size and
 * SHA-256, the stored size and SHA-256, the transforms and the wrapped data key; the metadata is
 * written last and its presence is what makes a file archived. {@link #put} of a file already
 * archived with the same content succeeds (archive_command must be idempotent); with different
 * content it throws {@link IntegrityException} and changes nothing. A segment whose page header
 * names another system identifier, another timeline or another position than its name is refused.
 * {@link #get} verifies stored and plaintext digests and writes the target only if both match.
 *
 * <p><b>Deltas.</b> A {@link WalReceiver} also stores the unfinished segment as immutable delta
 * objects, {@code <segment>.deltas/<from>-<to>} (offsets in 8 hex digits) plus metadata, each
 * encrypted with its own key as associated data: the bytes received since the previous delta, so
 * the repository holds every byte once. {@link #get} of a segment not archived whole assembles it
 * from its deltas (verified, gap-free from offset 0, zeros after), {@link #restorable()} lists
 * such segments for recovery, {@link #files()} and {@link #contains} see whole files only, and
 * retention ({@link #segments()}) sees a segment held only as deltas as one segment holding its
 * archived prefix, never one per delta.
 *
 * <p><b>Restrictions.</b> 16 MiB segments only. One writer per archive at a time (the archiver of
 * one cluster); readers may run concurrently. The data key is created once per instance and wrapped
 * into every metadata object.
 *
 * <p><b>Threading.</b> Thread-safe.
 */
public final class WalArchive implements LogArchive {
    private final Repository repository;
    private final long systemId;
    private final WalKeys keys;
    private final WalKeyring keyring;
    private final WalObjects objects;
    private final WalDeltaStore deltaStore;
    private final WalRetentionView retention;

    private WalArchive(Builder b) {
        // with keys, metadata is authenticated with the repository's metadata key
        this.repository = b.kek == null ? b.repository : b.repository.withKeys(b.kek);
        this.systemId = b.systemId;
        this.keys = new WalKeys(systemId);
        this.keyring = new WalKeyring(b.kek, repository, systemId);
        this.objects = new WalObjects(repository, systemId, ZstdTransform.level(b.level), keyring, b.clock);
        this.deltaStore = new WalDeltaStore(keys, objects, systemId);
        this.retention = new WalRetentionView(keys, objects);
    }

    /** An archive for the cluster whose {@code pg_control_system().system_identifier} is {@code systemId}. */
    public static Builder builder(Repository repository, long systemId) {
        return new Builder(repository, systemId);
    }

    public long systemId() {
        return systemId;
    }

    /** The log stream name used in manifests' {@code requiredLogs}: {@code wal/<system-id>}. */
    public String stream() {
        return keys.stream();
    }

    /** {@code wal/<system-id>} for {@code systemId}. */
    public static String streamOf(long systemId) {
        return WalKeys.streamOf(systemId);
    }

    /** The key of the data object of {@code file}. */
    public String keyOf(WalFile file) {
        return keys.keyOf(file);
    }

    /** What {@link #put} did. */
    public enum PutResult { ARCHIVED, ALREADY_ARCHIVED }

    /**
     * Archives the local file {@code source} as {@code name}.
     *
     * @throws IntegrityException if {@code name} is archived with other content, or the segment
     *                            belongs to another cluster, timeline or position
     * @throws StorageException   if the repository fails
     */
    public PutResult put(Path source, String name) {
        WalFile file = parseName(name);
        String key = keyOf(file);
        try {
            long size = Files.size(source);
            if (file.isSegment()) {
                SegmentHeader.check(source, file, size, systemId);
            }
            Instant[] lastCommit = {null};
            Digest plain = sha256(source, file.isSegment() ? new CommitScanner(file.startLsn(), (lsn, t) -> lastCommit[0] = t) : null);
            Optional<WalMeta> existing = objects.readMeta(key);
            if (existing.isPresent()) {
                if (existing.get().plaintextSha256().equals(plain) && existing.get().plaintextSize() == size) {
                    return PutResult.ALREADY_ARCHIVED;
                }
                throw new IntegrityException(key, "archived content of " + name, existing.get().plaintextSha256()
                        + " (" + existing.get().plaintextSize() + " bytes, already archived)", plain + " (" + size
                        + " bytes, offered now): a different " + name + " is already archived; refusing to replace it", null, null);
            }
            objects.upload(() -> Files.newInputStream(source), source.toString(), file.name(), key, size, plain, lastCommit[0]);
            return PutResult.ARCHIVED;
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.CAPTURE, "WAL file to archive " + source + " does not exist", e);
        } catch (IOException e) {
            throw StorageException.of(key, "could not archive " + name + ": " + e, e, null);
        }
    }

    /**
     * Restores archived {@code name} into {@code target}, verified. Writes a temporary file beside
     * {@code target} and renames it, so {@code target} is complete or absent.
     *
     * <p>A segment that is not archived whole but whose beginning is held as delta objects (what a
     * {@link WalReceiver} uploads while the segment fills) is assembled from them: every delta is
     * verified, they must run gap-free from offset 0, and the rest of the 16 MiB is zeros, as in a
     * {@code .partial} file of pg_receivewal. Recovery replays the archived prefix and ends there.
     *
     * @return false if {@code name} is not archived, neither whole nor as deltas
     * @throws IntegrityException if the stored bytes or the decoded bytes do not match the metadata,
     *                            or the deltas of a segment do not run gap-free from offset 0
     */
    public boolean get(String name, Path target) {
        WalFile file = parseName(name);
        String key = keyOf(file);
        Path tmp = target.resolveSibling(target.getFileName() + ".backstop-tmp");
        try {
            for (int attempt = 0; ; attempt++) {
                Optional<WalMeta> meta = objects.readMeta(key);
                if (meta.isPresent()) {
                    try (OutputStream out = Files.newOutputStream(tmp)) {
                        objects.decodeVerified(key, meta.get(), name, out);
                    } catch (NoSuchFileException e) {
                        throw new IntegrityException(key, "data of " + name, "an object beside its metadata", "none", e, null);
                    }
                } else if (file.kind() != WalFile.Kind.SEGMENT) {
                    return false;
                } else {
                    try {
                        if (!deltaStore.assemble(file, tmp)) {
                            return false;
                        }
                    } catch (NoSuchFileException e) {
                        // the receiver archived the whole segment and removed its deltas while we read them
                        if (attempt > 0) {
                            throw new IntegrityException(key, "deltas of " + name, "delta objects that stay until the whole segment "
                                    + "is archived", "one vanished while it was read (" + e.getMessage() + ") and no whole segment appeared",
                                    e, null);
                        }
                        continue;
                    }
                }
                break;
            }
            try (var ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return true;
        } catch (IOException e) {
            throw StorageException.of(key, "could not fetch " + name + " into " + target + ": " + e, e, null);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // a leftover temporary file next to the target is harmless: it is never read
            }
        }
    }

    /** Whether {@code name} is archived. */
    public boolean contains(String name) {
        String key = keyOf(parseName(name));
        try {
            return objects.readMeta(key).isPresent();
        } catch (IOException e) {
            throw StorageException.of(key, "could not read metadata: " + e, e, null);
        }
    }

    /**
     * Gives the data key of every encrypted object archived before archive key records existed
     * (metadata format 1) its own key record under {@code keys/wal/}, so that {@link
     * dev.backstop.core.Encryption#rewrap} re-wraps it. Run it once, with keys, before retiring
     * the KEK those objects were written with; idempotent.
     *
     * @return how many key records were written
     * @throws IllegalStateException if this archive was built without keys
     */
    public int adoptLegacyKeys() {
        if (!repository.keyed()) {
            throw new IllegalStateException("adoptLegacyKeys: this WalArchive was built without keys(...)");
        }
        int adopted = 0;
        try {
            for (ObjectInfo o : objects.list(keys.prefix())) {
                if (WalKeys.isMeta(o.key())) {
                    Optional<WalMeta> m = objects.readMeta(WalKeys.dataOf(o.key()));
                    if (m.isPresent() && keyring.adopt(m.get())) {
                        adopted++;
                    }
                }
            }
        } catch (IOException e) {
            throw StorageException.of(keys.prefix(), "could not list the WAL archive: " + e, e, null);
        }
        return adopted;
    }

    /** Every archived file, sorted by timeline then name. */
    public List<WalFile> files() {
        try {
            List<WalFile> out = new ArrayList<>();
            for (ObjectInfo o : objects.list(keys.prefix())) {
                if (WalKeys.isMeta(o.key()) && !WalKeys.isDelta(o.key())) {
                    out.add(WalKeys.fileOf(WalKeys.dataOf(o.key())));
                }
            }
            return out;
        } catch (IOException e) {
            throw StorageException.of(keys.prefix(), "could not list the WAL archive: " + e, e, null);
        }
    }

    @Override
    public List<LogSegment> segments() throws IOException {
        return retention.segments();
    }

    /** Deletes the metadata first, so a crash in between leaves an unarchived leftover, never a hole that looks archived. */
    @Override
    public void delete(LogSegment segment) throws IOException {
        retention.delete(segment);
    }

    /**
     * Archives bytes {@code [from, to)} of the unfinished {@code segment}, read from {@code source}
     * (the local file being received, at the bytes' offsets in the segment; positional reads, the
     * channel stays open) as one immutable delta object, compressed and encrypted like a whole
     * segment with the delta's own key as associated data, so a delta stored under another
     * segment's or range's name fails to decrypt. A delta starting at offset 0 must begin with this
     * cluster's page header for {@code segment}. Archiving the same range with the same bytes again
     * is accepted; with other bytes it is refused.
     *
     * @param lastCommit the commit time of the last commit ending at or before {@code to}, or null
     * @return the stored size, or 0 if the range was archived already
     */
    long putDelta(WalFile segment, long from, long to, FileChannel source, Instant lastCommit) {
        return deltaStore.put(segment, from, to, source, lastCommit);
    }

    /**
     * The offset in {@code segment} up to which its deltas run gap-free from offset 0 (0 if none),
     * from a listing only; where a new receiver resumes uploading deltas of that segment.
     */
    long deltaEnd(WalFile segment) {
        return deltaStore.end(segment);
    }

    /** The deltas of {@code segment} whose metadata is stored (archived), by offset. */
    List<SegmentDeltas.Delta> deltas(WalFile segment) {
        return deltaStore.list(segment);
    }

    /**
     * Deletes the deltas of {@code segment}; call once the whole segment is archived. Metadata
     * first, so a crash part-way leaves deltas a later run still finds, never a listed one without data.
     *
     * @return the delta objects (data and metadata) deleted
     */
    int deleteDeltas(WalFile segment) {
        return deltaStore.delete(segment);
    }

    /**
     * Deletes every delta whose segment is archived whole: what a receiver stopped between
     * archiving a segment and deleting its deltas leaves. One listing of the archive.
     *
     * @return the delta objects deleted
     */
    int deleteSupersededDeltas() {
        return deltaStore.deleteSuperseded();
    }

    /**
     * Every file {@link #get} can restore: {@link #files()} plus the segments held only as delta
     * objects (as {@link WalFile.Kind#SEGMENT}; {@code get} serves their archived prefix,
     * zero-filled), sorted by timeline then name. What recovery may ask for.
     */
    public List<WalFile> restorable() {
        try {
            Set<String> whole = new TreeSet<>();
            Set<String> partial = new TreeSet<>();
            for (ObjectInfo o : objects.list(keys.prefix())) {
                if (!WalKeys.isMeta(o.key())) {
                    continue;
                }
                if (WalKeys.isDelta(o.key())) {
                    partial.add(SegmentDeltas.segmentKeyOf(o.key()));
                } else {
                    whole.add(WalKeys.dataOf(o.key()));
                }
            }
            whole.addAll(partial);
            List<WalFile> out = new ArrayList<>();
            for (String k : whole) {
                out.add(WalKeys.fileOf(k));
            }
            return out;
        } catch (IOException e) {
            throw StorageException.of(keys.prefix(), "could not list the WAL archive: " + e, e, null);
        }
    }

    @Override
    public String toString() {
        return "WalArchive[" + keys.prefix() + " in " + repository.sink() + ", " + keyring + "]";
    }

    private static WalFile parseName(String name) {
        try {
            return WalFile.parse(name);
        } catch (IllegalArgumentException e) {
            throw new BackupException(Stage.CONFIGURE, e.getMessage(), e);
        }
    }

    private static Digest sha256(Path file, CommitScanner commits) throws IOException {
        MessageDigest md = Digest.newSha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                if (commits != null) {
                    commits.feed(ByteBuffer.wrap(buf, 0, n));
                }
            }
        }
        return Digest.of(md.digest());
    }

    /**
     * The commit time of the last commit in the archived segments ending at or before {@code lsn}
     * (newest timeline first), from their metadata; looks back at most 64 segments. Empty if none
     * of those holds a commit, or the archive predates commit times in metadata.
     */
    Optional<Instant> lastCommitBefore(long lsn) {
        List<WalFile> candidates = new ArrayList<>();
        for (WalFile f : files()) {
            if (f.kind() == WalFile.Kind.SEGMENT && Long.compareUnsigned(f.endLsn(), lsn) <= 0) {
                candidates.add(f);
            }
        }
        candidates.sort(Comparator.comparingLong(WalFile::segmentNumber).thenComparingInt(WalFile::timeline).reversed());
        long seen = -1;
        int looked = 0;
        for (WalFile f : candidates) {
            if (f.segmentNumber() == seen) {
                continue; // the same stretch of WAL on an older timeline
            }
            seen = f.segmentNumber();
            if (looked++ == 64) {
                break;
            }
            try {
                Optional<WalMeta> m = objects.readMeta(keyOf(f));
                if (m.isPresent() && m.get().lastCommitTime() != null) {
                    return Optional.of(m.get().lastCommitTime());
                }
            } catch (IOException e) {
                throw StorageException.of(keyOf(f), "could not read metadata: " + e, e, null);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code local} holds exactly the content archived as {@code name} (plaintext size
     * and SHA-256 from its metadata); false if {@code name} is not archived or {@code local} is
     * missing. Reads only the metadata from the repository.
     */
    public boolean matches(String name, Path local) {
        String key = keyOf(parseName(name));
        try {
            Optional<WalMeta> m = objects.readMeta(key);
            if (m.isEmpty() || !Files.isRegularFile(local) || Files.size(local) != m.get().plaintextSize()) {
                return false;
            }
            return sha256(local, null).equals(m.get().plaintextSha256());
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw StorageException.of(key, "could not compare " + local + " with the archived " + name + ": " + e, e, null);
        }
    }

    /** Builder for {@link WalArchive}; not thread-safe. */
    public static final class Builder {
        private final Repository repository;
        private final long systemId;
        private KeyEncryptionKey kek;
        private int level = 3;
        private Clock clock = Clock.systemUTC();

        private Builder(Repository repository, long systemId) {
            this.repository = Objects.requireNonNull(repository, "repository");
            this.systemId = systemId;
        }

        /** Encrypts with a data key wrapped by {@code kek}; without it WAL is stored compressed only. */
        public Builder keys(KeyEncryptionKey kek) {
            this.kek = Objects.requireNonNull(kek, "kek");
            return this;
        }

        /** zstd level (default 3). */
        public Builder compressionLevel(int level) {
            if (level < 1 || level > 19) {
                throw new IllegalArgumentException("compressionLevel: got " + level + ", must be 1..19");
            }
            this.level = level;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public WalArchive build() {
            return new WalArchive(this);
        }
    }
}
