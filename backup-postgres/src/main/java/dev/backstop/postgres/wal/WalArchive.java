package dev.backstop.postgres.wal;

import dev.backstop.core.internal.stream.RangeInputStream;
import dev.backstop.core.BackupException;
import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.log.LogDelta;
import dev.backstop.core.log.LogFile;
import dev.backstop.core.log.LogGap;
import dev.backstop.core.log.LogNaming;
import dev.backstop.core.log.LogObject;
import dev.backstop.core.log.LogStore;
import dev.backstop.core.retention.LogArchive;
import dev.backstop.core.retention.LogSegment;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The archived WAL of one PostgreSQL cluster (one system identifier): segments, partial segments,
 * backup and timeline history files, stored by core's log archive ({@link LogStore}) as stream
 * {@code wal/<system-id>}, epochs the timelines.
 *
 * <pre>{@code
 * WalArchive archive = WalArchive.builder(repository, systemId).keys(kek).build();
 * archive.put(Path.of("pg_wal/000000010000000000000003"), "000000010000000000000003");
 * archive.get("000000010000000000000003", Path.of("/restore/pg_wal/RECOVERYXLOG"));
 * }</pre>
 *
 * <p><b>Guarantees.</b> Those of {@link LogStore} (encoding, authenticated metadata, data keys
 * through {@link dev.backstop.core.crypto.Encryption}, verification on read, immutability), plus
 * PostgreSQL's: a name that is not a WAL file name is refused; a segment whose page header names
 * another system identifier, another timeline or another position than its name is refused before
 * anything is stored. {@link #put} of a file already archived with the same content succeeds
 * (archive_command must be idempotent). {@link #get} writes a temporary file beside the target and
 * renames it, so the target is complete and verified or absent.
 *
 * <p><b>Deltas.</b> A {@link WalReceiver} also stores the unfinished segment as immutable delta
 * objects (the bytes received since the previous delta). {@link #get} of a segment not archived
 * whole assembles it from its deltas (verified, gap-free from offset 0, then zeros up to 16 MiB,
 * like a {@code .partial} file of pg_receivewal); {@link #restorable()} lists such segments for
 * recovery; {@link #files()} and {@link #contains} see whole files only; retention sees a segment
 * held only as deltas once, as the prefix they hold.
 *
 * <p><b>Restrictions.</b> 16 MiB segments only. One writer per archive at a time (the archiver of
 * one cluster); readers may run concurrently. WAL metadata of formats 1 and 2 (written by an
 * earlier version, {@code name=value} lines) is refused when read, naming its format.
 *
 * <p><b>Threading.</b> Thread-safe.
 */
public final class WalArchive implements LogArchive {
    /** WAL file names as the log archive sees them. */
    static final LogNaming NAMING = name -> WalFile.parse(name).logFile();
    /** The metadata attribute holding the commit time of the last commit a segment or delta holds. */
    static final String LAST_COMMIT = "lastCommitTime";

    private final long systemId;
    private final LogStore logs;

    private WalArchive(Builder b) {
        this.systemId = b.systemId;
        LogStore.Builder lb = LogStore.builder(b.repository, streamOf(systemId), NAMING).compressionLevel(b.level).clock(b.clock);
        if (b.kek != null) {
            lb.keys(b.kek);
        }
        this.logs = lb.build();
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
        return logs.stream();
    }

    /** {@code wal/<system-id>} for {@code systemId}. */
    public static String streamOf(long systemId) {
        return RepositoryLayout.walStream(systemId);
    }

    /** The log archive underneath: for replication ({@link LogStore#replicate}) and continuity ({@link LogStore#gaps}). */
    public LogStore logs() {
        return logs;
    }

    /** The key of the data object of {@code file}. */
    public String keyOf(WalFile file) {
        return logs.keyOf(file.logFile());
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
        try {
            long size = Files.size(source);
            if (file.isSegment()) {
                SegmentHeader.check(source, file, size, systemId);
            }
            Instant[] lastCommit = {null};
            Digest plain = sha256(source, file.isSegment() ? new CommitScanner(file.startLsn(), (lsn, t) -> lastCommit[0] = t) : null);
            LogStore.PutResult r = logs.put(file.logFile(), () -> Files.newInputStream(source), size, plain, attributes(lastCommit[0]));
            return r == LogStore.PutResult.ARCHIVED ? PutResult.ARCHIVED : PutResult.ALREADY_ARCHIVED;
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.CAPTURE, "WAL file to archive " + source + " does not exist", e);
        } catch (IOException e) {
            throw StorageException.of(keyOf(file), "could not archive " + name + ": " + e, e, null);
        }
    }

    /**
     * Restores archived {@code name} into {@code target}, verified. Writes a temporary file beside
     * {@code target} and renames it, so {@code target} is complete or absent.
     *
     * <p>A segment that is not archived whole but whose beginning is held as delta objects is
     * assembled from them: every delta is verified, they must run gap-free from offset 0, and the
     * rest of the 16 MiB is zeros. Recovery replays the archived prefix and ends there.
     *
     * @return false if {@code name} is not archived, neither whole nor as deltas
     * @throws IntegrityException if the stored bytes or the decoded bytes do not match the metadata,
     *                            or the deltas of a segment do not run gap-free from offset 0
     */
    public boolean get(String name, Path target) {
        WalFile file = parseName(name);
        return WalFetch.into(logs, file, name, keyOf(file), target);
    }

    /** Whether {@code name} is archived whole. */
    public boolean contains(String name) {
        return logs.contains(parseName(name).logFile());
    }

    /** Every archived file, sorted by timeline then name. */
    public List<WalFile> files() {
        return walFiles(logs.files());
    }

    /**
     * Every file {@link #get} can restore: {@link #files()} plus the segments held only as delta
     * objects, sorted by timeline then name. What recovery may ask for.
     */
    public List<WalFile> restorable() {
        return walFiles(logs.restorable());
    }

    /** Segments missing between archived segments of one timeline. */
    public List<LogGap> gaps() {
        return logs.gaps();
    }

    @Override
    public List<LogSegment> segments() throws IOException {
        return logs.segments();
    }

    /** Deletes the metadata first, so a crash in between leaves an unarchived leftover, never a hole that looks archived. */
    @Override
    public void delete(LogSegment segment) throws IOException {
        logs.delete(segment);
    }

    /**
     * Archives bytes {@code [from, to)} of the unfinished {@code segment}, read from {@code source}
     * (the local file being received, at the bytes' offsets in the segment; positional reads, the
     * channel stays open) as one immutable delta object. A delta starting at offset 0 must begin
     * with this cluster's page header for {@code segment}.
     *
     * @param lastCommit the commit time of the last commit ending at or before {@code to}, or null
     * @return the stored size, or 0 if the range was archived already
     */
    long putDelta(WalFile segment, long from, long to, FileChannel source, Instant lastCommit) {
        if (segment.kind() != WalFile.Kind.SEGMENT || from < 0 || to <= from || to > WalFile.SEGMENT_BYTES) {
            throw new IllegalArgumentException("delta: got " + segment + " [" + from + ", " + to + "), need a segment and 0 <= from < to <= "
                    + WalFile.SEGMENT_BYTES);
        }
        String what = segment.name() + " [" + from + ", " + to + ")";
        try {
            if (from == 0 && to >= SegmentHeader.BYTES) {
                byte[] head = new RangeInputStream(source, 0, SegmentHeader.BYTES).readAllBytes();
                SegmentHeader.check(head, segment, systemId);
            }
            MessageDigest md = Digest.newSha256();
            long read;
            try (InputStream in = new DigestInputStream(new RangeInputStream(source, from, to), md)) {
                read = in.transferTo(OutputStream.nullOutputStream());
            }
            if (read != to - from) {
                throw new IntegrityException(keyOf(segment), "bytes of " + what, (to - from) + " bytes in the local segment",
                        read + " bytes", null, null);
            }
            return logs.putDelta(segment.logFile(), from, to, () -> new RangeInputStream(source, from, to), Digest.of(md.digest()),
                    attributes(lastCommit));
        } catch (IOException e) {
            throw StorageException.of(keyOf(segment), "could not archive " + what + ": " + e, e, null);
        }
    }

    /** The offset in {@code segment} up to which its deltas run gap-free from offset 0 (0 if none), from a listing only. */
    long deltaEnd(WalFile segment) {
        return logs.deltaEnd(segment.logFile());
    }

    /** The deltas of {@code segment} whose metadata is stored (archived), by offset. */
    List<LogDelta> deltas(WalFile segment) {
        return logs.deltas(segment.logFile());
    }

    /** Deletes the deltas of {@code segment}; call once the whole segment is archived. */
    int deleteDeltas(WalFile segment) {
        return logs.deleteDeltas(segment.logFile());
    }

    /** Deletes every delta whose segment is archived whole. */
    int deleteSupersededDeltas() {
        return logs.deleteSupersededDeltas();
    }

    @Override
    public String toString() {
        return "WalArchive[" + logs + "]";
    }

    private static List<WalFile> walFiles(List<LogFile> files) {
        List<WalFile> out = new ArrayList<>(files.size());
        for (LogFile f : files) {
            out.add(WalFile.parse(f.name()));
        }
        return out;
    }

    private static Map<String, String> attributes(Instant lastCommit) {
        // read by the RPO view: the commit time of the archived position without fetching the segment
        return lastCommit == null ? Map.of() : Map.of(LAST_COMMIT, lastCommit.toString());
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
     * The commit time of the last archived commit ending at or before {@code lsn} (newest timeline
     * first), from the metadata of whole segments and of the deltas of unfinished ones; looks back
     * at most 64 segments. Empty if none of those holds a commit.
     */
    Optional<Instant> lastCommitBefore(long lsn) {
        return LastCommits.before(logs, restorable(), lsn);
    }

    /**
     * Whether {@code local} holds exactly the content archived as {@code name} (plaintext size
     * and SHA-256 from its metadata); false if {@code name} is not archived or {@code local} is
     * missing. Reads only the metadata from the repository.
     */
    public boolean matches(String name, Path local) {
        WalFile file = parseName(name);
        try {
            Optional<LogObject> m = logs.metadata(file.logFile());
            if (m.isEmpty() || !Files.isRegularFile(local) || Files.size(local) != m.get().plaintextSize()) {
                return false;
            }
            return sha256(local, null).equals(m.get().plaintextSha256());
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw StorageException.of(keyOf(file), "could not compare " + local + " with the archived " + name + ": " + e, e, null);
        }
    }

    /** Builder for {@link WalArchive}; each setting may be given once. Not thread-safe. */
    public static final class Builder {
        private final Repository repository;
        private final long systemId;
        private KeyEncryptionKey kek;
        private int level = 3;
        private Clock clock = Clock.systemUTC();
        private final Settings given = new Settings();

        private Builder(Repository repository, long systemId) {
            this.repository = Objects.requireNonNull(repository, "repository");
            this.systemId = systemId;
        }

        /** Encrypts with a data key wrapped by {@code kek}; without it WAL is stored compressed only. */
        public Builder keys(KeyEncryptionKey kek) {
            this.kek = Settings.onlyOnce("keys", this.kek, kek);
            return this;
        }

        /** zstd level (default 3). */
        public Builder compressionLevel(int level) {
            if (level < 1 || level > 19) {
                throw new IllegalArgumentException("compressionLevel: got " + level + ", must be 1..19");
            }
            this.level = given.once("compressionLevel", this.level, level);
            return this;
        }

        /** The clock of {@code archivedAt} in metadata (default {@link Clock#systemUTC()}). */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        public WalArchive build() {
            return new WalArchive(this);
        }
    }
}
