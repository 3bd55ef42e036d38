package dev.backstop.postgres.wal;

import dev.backstop.core.BackupException;
import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.KeyEncryptionKey;
import dev.backstop.core.LogRange;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Sink;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.retention.LogArchive;
import dev.backstop.core.retention.LogSegment;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

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
    private static final String META_SUFFIX = ".meta";
    private static final int LONG_PAGE_HEADER = 40;

    private final Repository repository;
    private final long systemId;
    private final KeyEncryptionKey kek;
    private final WalKeyring keys;
    private final ZstdTransform zstd;
    private final Clock clock;
    private final String prefix;

    private WalArchive(Builder b) {
        this.repository = b.repository;
        this.systemId = b.systemId;
        this.kek = b.kek;
        this.keys = new WalKeyring(b.kek, b.systemId);
        this.zstd = ZstdTransform.level(b.level);
        this.clock = b.clock;
        this.prefix = "wal/" + Long.toUnsignedString(systemId) + "/";
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
        return streamOf(systemId);
    }

    /** {@code wal/<system-id>} for {@code systemId}. */
    public static String streamOf(long systemId) {
        return "wal/" + Long.toUnsignedString(systemId);
    }

    /** The key of the data object of {@code file}. */
    public String keyOf(WalFile file) {
        return prefix + String.format("%08X", file.timeline()) + "/" + file.name();
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
                checkHeader(source, file, size);
            }
            Instant[] lastCommit = {null};
            Digest plain = sha256(source, file.isSegment() ? new CommitScanner(file.startLsn(), (lsn, t) -> lastCommit[0] = t) : null);
            Optional<WalMeta> existing = readMeta(key);
            if (existing.isPresent()) {
                if (existing.get().plaintextSha256().equals(plain) && existing.get().plaintextSize() == size) {
                    return PutResult.ALREADY_ARCHIVED;
                }
                throw new IntegrityException(key, "archived content of " + name, existing.get().plaintextSha256()
                        + " (" + existing.get().plaintextSize() + " bytes, already archived)", plain + " (" + size
                        + " bytes, offered now): a different " + name + " is already archived; refusing to replace it", null, null);
            }
            upload(() -> Files.newInputStream(source), source.toString(), file.name(), key, size, plain, lastCommit[0]);
            return PutResult.ARCHIVED;
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.CAPTURE, "WAL file to archive " + source + " does not exist", e);
        } catch (IOException e) {
            throw new StorageException(key, "could not archive " + name + ": " + e, e, true, null);
        }
    }

    /** Opens the bytes to archive again for each attempt. */
    private interface Bytes {
        InputStream open() throws IOException;
    }

    /** Stores data then metadata under {@code key}; returns the stored size. {@code what} names the source in errors. */
    private long upload(Bytes source, String what, String metaName, String key, long size, Digest plain, Instant lastCommit)
            throws IOException {
        WalKeyring.DataKey dk = keys.writeKey();
        ObjectBinding binding = new ObjectBinding(stream(), key);
        MessageDigest storedMd = Digest.newSha256();
        MessageDigest plainMd = Digest.newSha256();
        long[] storedCount = {0};
        long plainCount;
        for (int attempt = 0; ; attempt++) {
            try (Sink.Upload up = repository.sink().create(key, ObjectKind.LOG)) {
                OutputStream counting = new FilterOutputStream(up.stream()) {
                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        out.write(b, off, len);
                        storedCount[0] += len;
                    }
                };
                OutputStream stored = new DigestOutputStream(counting, storedMd);
                OutputStream enc = zstd.encode(dk.transform().encode(stored, binding), binding);
                try (InputStream in = source.open();
                     DigestOutputStream plainOut = new DigestOutputStream(enc, plainMd)) {
                    plainCount = in.transferTo(plainOut);
                }
                if (plainCount != size || !Digest.of(plainMd.digest()).equals(plain)) {
                    throw new IntegrityException(key, "bytes of " + what, plain + " (" + size + " bytes)",
                            "the file changed while it was being archived", null, null);
                }
                try {
                    up.commit();
                } catch (ObjectExistsException e) {
                    // data without metadata: an earlier archiver died between the two; it was never archived
                    if (attempt > 0) {
                        throw e;
                    }
                    repository.sink().delete(key);
                    storedMd.reset();
                    plainMd.reset();
                    storedCount[0] = 0;
                    continue;
                }
            }
            break;
        }
        WalMeta meta = new WalMeta(metaName, systemId, size, plain, storedCount[0], Digest.of(storedMd.digest()),
                zstd.level(), dk.kekId(), dk.wrapped(), clock.instant().toString(), lastCommit);
        try (Sink.Upload up = repository.sink().create(key + META_SUFFIX, ObjectKind.LOG)) {
            try (OutputStream out = up.stream()) {
                out.write(meta.encode());
            }
            up.commit();
        }
        return storedCount[0];
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
                Optional<WalMeta> meta = readMeta(key);
                if (meta.isPresent()) {
                    try (OutputStream out = Files.newOutputStream(tmp)) {
                        decodeVerified(key, meta.get(), name, out);
                    } catch (NoSuchFileException e) {
                        throw new IntegrityException(key, "data of " + name, "an object beside its metadata", "none", e, null);
                    }
                } else if (file.kind() != WalFile.Kind.SEGMENT) {
                    return false;
                } else {
                    try {
                        if (!assemble(file, tmp)) {
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
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return true;
        } catch (IOException e) {
            throw new StorageException(key, "could not fetch " + name + " into " + target + ": " + e, e, true, null);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // a leftover temporary file next to the target is harmless: it is never read
            }
        }
    }

    /**
     * Decodes object {@code key} into {@code out} (left open), checking the stored and plaintext
     * digests and size of its metadata; {@code out} has the bytes before they are known good, so
     * callers write to a temporary file.
     */
    private void decodeVerified(String key, WalMeta m, String name, OutputStream out) throws IOException {
        ObjectBinding binding = new ObjectBinding(stream(), key);
        MessageDigest storedMd = Digest.newSha256();
        MessageDigest plainMd = Digest.newSha256();
        long plainCount;
        try (InputStream raw = repository.sink().open(key);
             DigestInputStream stored = new DigestInputStream(raw, storedMd);
             InputStream dec = zstd.decode(keys.readKey(m).decode(stored, binding), binding);
             DigestInputStream plain = new DigestInputStream(dec, plainMd)) {
            plainCount = plain.transferTo(out);
            stored.transferTo(OutputStream.nullOutputStream());
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            throw new IntegrityException(key, "decoding of " + name, "an intact " + m.storedSize() + "-byte object",
                    "it failed to decode: " + e.getMessage(), e, null);
        }
        Digest storedDigest = Digest.of(storedMd.digest());
        if (!storedDigest.equals(m.storedSha256())) {
            throw new IntegrityException(key, "stored SHA-256", m.storedSha256().hex(), storedDigest.hex(), null, null);
        }
        Digest plainDigest = Digest.of(plainMd.digest());
        if (plainCount != m.plaintextSize() || !plainDigest.equals(m.plaintextSha256())) {
            throw new IntegrityException(key, "plaintext of " + name, m.plaintextSha256() + " (" + m.plaintextSize() + " bytes)",
                    plainDigest + " (" + plainCount + " bytes)", null, null);
        }
    }

    /** Whether {@code name} is archived. */
    public boolean contains(String name) {
        String key = keyOf(parseName(name));
        try {
            return readMeta(key).isPresent();
        } catch (IOException e) {
            throw new StorageException(key, "could not read metadata: " + e, e, true, null);
        }
    }

    /** Every archived file, sorted by timeline then name. */
    public List<WalFile> files() {
        try {
            List<WalFile> out = new ArrayList<>();
            for (ObjectInfo o : repository.sink().list(prefix)) {
                if (o.key().endsWith(META_SUFFIX) && !o.key().contains(SegmentDeltas.DIR)) {
                    String name = o.key().substring(o.key().lastIndexOf('/') + 1, o.key().length() - META_SUFFIX.length());
                    out.add(WalFile.parse(name));
                }
            }
            return out;
        } catch (IOException e) {
            throw new StorageException(prefix, "could not list the WAL archive: " + e, e, true, null);
        }
    }

    @Override
    public List<LogSegment> segments() throws IOException {
        Map<String, Long> sizes = new TreeMap<>();
        List<ObjectInfo> all = repository.sink().list(prefix);
        for (ObjectInfo o : all) {
            sizes.put(o.key(), o.size());
        }
        List<LogSegment> out = new ArrayList<>();
        Map<String, List<ObjectInfo>> deltaObjects = new TreeMap<>();
        for (ObjectInfo o : all) {
            if (o.key().contains(SegmentDeltas.DIR)) {
                deltaObjects.computeIfAbsent(SegmentDeltas.segmentKeyOf(o.key()), k -> new ArrayList<>()).add(o);
                continue;
            }
            if (!o.key().endsWith(META_SUFFIX)) {
                continue;
            }
            String dataKey = o.key().substring(0, o.key().length() - META_SUFFIX.length());
            WalFile f = WalFile.parse(dataKey.substring(dataKey.lastIndexOf('/') + 1));
            if (f.kind() == WalFile.Kind.SEGMENT) {
                out.add(new LogSegment(dataKey, new LogRange(stream(), f.startLsn(), f.endLsn()),
                        sizes.getOrDefault(dataKey, 0L) + o.size()));
            }
        }
        // a segment held only as deltas is one segment holding its prefix; deltas beside a whole
        // segment are the receiver's to remove and are not listed
        for (Map.Entry<String, List<ObjectInfo>> e : deltaObjects.entrySet()) {
            if (sizes.containsKey(e.getKey() + META_SUFFIX)) {
                continue;
            }
            WalFile f = WalFile.parse(e.getKey().substring(e.getKey().lastIndexOf('/') + 1));
            long end = SegmentDeltas.run(listedDeltas(e.getValue())).end();
            long bytes = e.getValue().stream().mapToLong(ObjectInfo::size).sum();
            out.add(new LogSegment(e.getKey() + SegmentDeltas.DIR, new LogRange(stream(), f.startLsn(), f.startLsn() + end), bytes));
        }
        return out;
    }

    /** Deletes the metadata first, so a crash in between leaves an unarchived leftover, never a hole that looks archived. */
    @Override
    public void delete(LogSegment segment) throws IOException {
        if (!segment.key().startsWith(prefix)) {
            throw new IllegalArgumentException("segment " + segment.key() + " is not in archive " + prefix);
        }
        if (segment.key().endsWith(SegmentDeltas.DIR)) {
            deleteAll(repository.sink().list(segment.key()));
            return;
        }
        repository.sink().delete(segment.key() + META_SUFFIX);
        repository.sink().delete(segment.key());
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
        if (segment.kind() != WalFile.Kind.SEGMENT || from < 0 || to <= from || to > WalFile.SEGMENT_BYTES) {
            throw new IllegalArgumentException("delta: got " + segment + " [" + from + ", " + to + "), need a segment and 0 <= from < to <= "
                    + WalFile.SEGMENT_BYTES);
        }
        String rangeName = segment.name() + SegmentDeltas.DIR + SegmentDeltas.rangeName(from, to);
        String key = keyOf(segment) + SegmentDeltas.DIR + SegmentDeltas.rangeName(from, to);
        try {
            if (from == 0 && to >= LONG_PAGE_HEADER) {
                byte[] head = new RangeInputStream(source, 0, LONG_PAGE_HEADER).readAllBytes();
                checkHeader(head, segment);
            }
            MessageDigest md = Digest.newSha256();
            long read;
            try (InputStream in = new DigestInputStream(new RangeInputStream(source, from, to), md)) {
                read = in.transferTo(OutputStream.nullOutputStream());
            }
            if (read != to - from) {
                throw new IntegrityException(key, "bytes of " + rangeName, (to - from) + " bytes in the local segment", read + " bytes",
                        null, null);
            }
            Digest plain = Digest.of(md.digest());
            Optional<WalMeta> existing = readMeta(key);
            if (existing.isPresent()) {
                if (existing.get().plaintextSha256().equals(plain)) {
                    return 0;
                }
                throw new IntegrityException(key, "archived content of " + rangeName, existing.get().plaintextSha256() + " (already archived)",
                        plain + " (offered now): refusing to replace an archived delta", null, null);
            }
            return upload(() -> new RangeInputStream(source, from, to), rangeName, rangeName, key, to - from, plain, lastCommit);
        } catch (IOException e) {
            throw new StorageException(key, "could not archive " + rangeName + ": " + e, e, true, null);
        }
    }

    /**
     * The offset in {@code segment} up to which its deltas run gap-free from offset 0 (0 if none),
     * from a listing only; where a new receiver resumes uploading deltas of that segment.
     */
    long deltaEnd(WalFile segment) {
        try {
            return SegmentDeltas.run(listedDeltas(repository.sink().list(keyOf(segment) + SegmentDeltas.DIR))).end();
        } catch (IOException e) {
            throw new StorageException(keyOf(segment), "could not list deltas: " + e, e, true, null);
        }
    }

    /** The deltas of {@code segment} whose metadata is stored (archived), by offset. */
    List<SegmentDeltas.Delta> deltas(WalFile segment) {
        try {
            return listedDeltas(repository.sink().list(keyOf(segment) + SegmentDeltas.DIR));
        } catch (IOException e) {
            throw new StorageException(keyOf(segment), "could not list deltas: " + e, e, true, null);
        }
    }

    private static List<SegmentDeltas.Delta> listedDeltas(List<ObjectInfo> objects) {
        List<SegmentDeltas.Delta> out = new ArrayList<>();
        for (ObjectInfo o : objects) {
            if (o.key().endsWith(META_SUFFIX)) {
                SegmentDeltas.Delta d = SegmentDeltas.parse(o.key().substring(0, o.key().length() - META_SUFFIX.length()));
                if (d != null) {
                    out.add(d);
                }
            }
        }
        out.sort(java.util.Comparator.comparingLong(SegmentDeltas.Delta::from).thenComparingLong(SegmentDeltas.Delta::to));
        return out;
    }

    /**
     * Writes {@code segment} assembled from its deltas into {@code tmp}: each verified, gap-free
     * from offset 0, then zeros up to 16 MiB. False if it has no deltas.
     *
     * @throws NoSuchFileException if a delta vanished while being read (the whole segment replaced it)
     */
    private boolean assemble(WalFile segment, Path tmp) throws IOException {
        String key = keyOf(segment);
        List<SegmentDeltas.Delta> listed = deltas(segment);
        if (listed.isEmpty()) {
            return false;
        }
        SegmentDeltas.Run run = SegmentDeltas.run(listed);
        if (run.chain().isEmpty() || run.hasGap()) {
            throw new IntegrityException(key + SegmentDeltas.DIR, "deltas of " + segment.name(), "a gap-free run from offset 0",
                    "a run to offset " + run.end() + " and then " + (run.chain().isEmpty() ? listed : run.stranded()).stream()
                            .map(d -> SegmentDeltas.rangeName(d.from(), d.to())).toList()
                            + ": a delta is missing; refusing to serve the segment", null, null);
        }
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 64 * 1024)) {
            for (SegmentDeltas.Delta d : run.chain()) {
                String rangeName = segment.name() + SegmentDeltas.DIR + SegmentDeltas.rangeName(d.from(), d.to());
                WalMeta m = readMeta(d.key()).orElseThrow(() -> new NoSuchFileException(d.key() + META_SUFFIX));
                if (!rangeName.equals(m.name()) || m.plaintextSize() != d.bytes()) {
                    throw new IntegrityException(d.key() + META_SUFFIX, "metadata of " + rangeName, rangeName + ", " + d.bytes() + " bytes",
                            m.name() + ", " + m.plaintextSize() + " bytes: metadata of another delta", null, null);
                }
                decodeVerified(d.key(), m, rangeName, out);
            }
            byte[] zeros = new byte[64 * 1024];
            for (long left = WalFile.SEGMENT_BYTES - run.end(); left > 0; left -= zeros.length) {
                out.write(zeros, 0, (int) Math.min(left, zeros.length));
            }
        }
        return true;
    }

    /**
     * Deletes the deltas of {@code segment}; call once the whole segment is archived. Metadata
     * first, so a crash part-way leaves deltas a later run still finds, never a listed one without data.
     *
     * @return the delta objects (data and metadata) deleted
     */
    int deleteDeltas(WalFile segment) {
        try {
            return deleteAll(repository.sink().list(keyOf(segment) + SegmentDeltas.DIR));
        } catch (IOException e) {
            throw new StorageException(keyOf(segment), "could not delete deltas: " + e, e, true, null);
        }
    }

    /**
     * Deletes every delta whose segment is archived whole: what a receiver stopped between
     * archiving a segment and deleting its deltas leaves. One listing of the archive.
     *
     * @return the delta objects deleted
     */
    int deleteSupersededDeltas() {
        try {
            List<ObjectInfo> all = repository.sink().list(prefix);
            java.util.Set<String> whole = new java.util.HashSet<>();
            for (ObjectInfo o : all) {
                if (o.key().endsWith(META_SUFFIX) && !o.key().contains(SegmentDeltas.DIR)) {
                    whole.add(o.key().substring(0, o.key().length() - META_SUFFIX.length()));
                }
            }
            List<ObjectInfo> superseded = new ArrayList<>();
            for (ObjectInfo o : all) {
                if (o.key().contains(SegmentDeltas.DIR) && whole.contains(SegmentDeltas.segmentKeyOf(o.key()))) {
                    superseded.add(o);
                }
            }
            return deleteAll(superseded);
        } catch (IOException e) {
            throw new StorageException(prefix, "could not delete superseded deltas: " + e, e, true, null);
        }
    }

    private int deleteAll(List<ObjectInfo> objects) throws IOException {
        for (ObjectInfo o : objects) {
            if (o.key().endsWith(META_SUFFIX)) {
                repository.sink().delete(o.key());
            }
        }
        for (ObjectInfo o : objects) {
            if (!o.key().endsWith(META_SUFFIX)) {
                repository.sink().delete(o.key());
            }
        }
        return objects.size();
    }

    /**
     * Every file {@link #get} can restore: {@link #files()} plus the segments held only as delta
     * objects (as {@link WalFile.Kind#SEGMENT}; {@code get} serves their archived prefix,
     * zero-filled), sorted by timeline then name. What recovery may ask for.
     */
    public List<WalFile> restorable() {
        try {
            java.util.Set<String> whole = new java.util.TreeSet<>();
            java.util.Set<String> partial = new java.util.TreeSet<>();
            for (ObjectInfo o : repository.sink().list(prefix)) {
                if (!o.key().endsWith(META_SUFFIX)) {
                    continue;
                }
                if (o.key().contains(SegmentDeltas.DIR)) {
                    partial.add(SegmentDeltas.segmentKeyOf(o.key()));
                } else {
                    whole.add(o.key().substring(0, o.key().length() - META_SUFFIX.length()));
                }
            }
            whole.addAll(partial);
            List<WalFile> out = new ArrayList<>();
            for (String k : whole) {
                out.add(WalFile.parse(k.substring(k.lastIndexOf('/') + 1)));
            }
            return out;
        } catch (IOException e) {
            throw new StorageException(prefix, "could not list the WAL archive: " + e, e, true, null);
        }
    }

    /** Bytes {@code [from, to)} of a channel by positional reads, leaving its position and the channel alone. */
    private static final class RangeInputStream extends InputStream {
        private final FileChannel ch;
        private long pos;
        private final long end;

        RangeInputStream(FileChannel ch, long from, long to) {
            this.ch = ch;
            this.pos = from;
            this.end = to;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (pos >= end) {
                return -1;
            }
            int n = ch.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - pos)), pos);
            if (n < 0) {
                return -1; // the file is shorter than the range: the caller's count says so
            }
            pos += n;
            return n;
        }
    }

    @Override
    public String toString() {
        return "WalArchive[" + prefix + " in " + repository.sink() + (kek == null ? ", unencrypted" : ", kek=" + kek.id()) + "]";
    }

    private static WalFile parseName(String name) {
        try {
            return WalFile.parse(name);
        } catch (IllegalArgumentException e) {
            throw new BackupException(Stage.CONFIGURE, e.getMessage(), e);
        }
    }

    /**
     * Reads the long page header every segment starts with: magic, timeline, page address, and the
     * system identifier at offset 24 (XLogLongPageHeaderData, little-endian on the platforms
     * PostgreSQL runs on here). The header's timeline may be an ancestor of the name's: the
     * segment that holds a switch point begins with the parent timeline's pages.
     */
    private void checkHeader(Path source, WalFile file, long size) throws IOException {
        String name = file.name();
        if (file.kind() == WalFile.Kind.SEGMENT && size != WalFile.SEGMENT_BYTES) {
            throw new IntegrityException(name, "size of WAL segment " + source, WalFile.SEGMENT_BYTES + " bytes", size + " bytes", null, null);
        }
        byte[] head = new byte[LONG_PAGE_HEADER];
        try (InputStream in = Files.newInputStream(source)) {
            if (in.readNBytes(head, 0, head.length) < head.length) {
                throw new IntegrityException(name, "WAL page header of " + source, "40 bytes", "a shorter file", null, null);
            }
        }
        checkHeader(head, file);
    }

    private void checkHeader(byte[] head, WalFile file) {
        String name = file.name();
        ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        int tli = b.getInt(4);
        long pageAddr = b.getLong(8);
        long sysid = b.getLong(24);
        if (sysid != systemId) {
            throw new IntegrityException(name, "system identifier of " + name, Long.toUnsignedString(systemId),
                    Long.toUnsignedString(sysid) + ": this WAL comes from another cluster; refusing to mix it into this archive", null, null);
        }
        // the segment holding a timeline switch starts with pages its parent timeline wrote
        if (tli < 1 || tli > file.timeline() || pageAddr != file.startLsn()) {
            throw new IntegrityException(name, "page header of " + name, "timeline " + file.timeline() + " at "
                    + WalFile.formatLsn(file.startLsn()), "timeline " + tli + " at " + WalFile.formatLsn(pageAddr), null, null);
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
        candidates.sort(java.util.Comparator.comparingLong(WalFile::segmentNumber).thenComparingInt(WalFile::timeline).reversed());
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
                Optional<WalMeta> m = readMeta(keyOf(f));
                if (m.isPresent() && m.get().lastCommitTime() != null) {
                    return Optional.of(m.get().lastCommitTime());
                }
            } catch (IOException e) {
                throw new StorageException(keyOf(f), "could not read metadata: " + e, e, true, null);
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
            Optional<WalMeta> m = readMeta(key);
            if (m.isEmpty() || !Files.isRegularFile(local) || Files.size(local) != m.get().plaintextSize()) {
                return false;
            }
            return sha256(local, null).equals(m.get().plaintextSha256());
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new StorageException(key, "could not compare " + local + " with the archived " + name + ": " + e, e, true, null);
        }
    }

    private Optional<WalMeta> readMeta(String key) throws IOException {
        byte[] bytes;
        try (InputStream in = repository.sink().open(key + META_SUFFIX)) {
            bytes = in.readNBytes(WalMeta.MAX_BYTES);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        return Optional.of(WalMeta.decode(key + META_SUFFIX, bytes));
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
