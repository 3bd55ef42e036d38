package dev.backstop.mysql.binlog;

import dev.backstop.core.internal.stream.RangeInputStream;
import dev.backstop.core.BackupException;
import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.log.LogFile;
import dev.backstop.core.log.LogGap;
import dev.backstop.core.log.LogNaming;
import dev.backstop.core.log.LogObject;
import dev.backstop.core.log.LogStore;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The archived binary logs of one MariaDB server, stored by core's log archive ({@link LogStore})
 * as stream {@code binlog/<server-uuid>}.
 *
 * <pre>{@code
 * BinlogArchive archive = BinlogArchive.builder(repository, serverUuid, serverId).keys(kek).build();
 * archive.put(Path.of("spool/binlog.000042"), "binlog.000042");
 * archive.get("binlog.000042", Path.of("/restore/binlog.000042"));
 * }</pre>
 *
 * <p><b>Naming.</b> A binlog file is {@code <basename>.NNNNNN}: a base name of {@code
 * [A-Za-z0-9_-]} (with dots allowed inside) and a sequence number of at least six digits, as the
 * server writes them. The base name is the file's epoch in the log archive, and file number
 * {@code n} holds position {@code [n, n+1)}: the files of one base name are ordered and counted
 * by number, so {@link #gaps()} names a missing file. A server whose {@code log_bin_basename}
 * changes starts a new epoch; {@code RESET MASTER} restarts numbering inside one, and archiving a
 * file number that is archived already with other content is refused, never overwritten.
 *
 * <p><b>Guarantees.</b> Those of {@link LogStore} (zstd, then with keys streaming AEAD bound to
 * the object key; authenticated metadata; data keys through {@link dev.backstop.core.crypto.Encryption};
 * verification on read; immutability), plus MariaDB's: a file is archived only if it starts with
 * the binlog magic {@code \xfebin} followed by a format description event written by this
 * archive's server id; anything else is refused before a byte is stored. {@link #get} writes a
 * temporary file beside the target and renames it, so the target is complete and verified or
 * absent.
 *
 * <p><b>Deltas.</b> The file the server is still writing is archived as immutable delta objects
 * ({@link #putDelta}), each holding the bytes received since the previous one; {@link
 * #getPrefix} serves their gap-free run from offset 0, verified. Once the file is complete (the
 * next one exists) it is archived whole ({@link #put}) and its deltas deleted.
 *
 * <p><b>Restrictions.</b> One writer per archive at a time; readers may run
 * concurrently. The server UUID names the stream only; the bytes of a MariaDB binlog carry the
 * server id, which is what is checked.
 *
 * <p><b>Threading.</b> Thread-safe.
 */
public final class BinlogArchive {
    /** The four bytes every binlog file starts with. */
    static final byte[] MAGIC = {(byte) 0xfe, 'b', 'i', 'n'};
    /** Common event header: timestamp (4), type (1), server id (4), length (4), next position (4), flags (2). */
    static final int EVENT_HEADER = 19;
    static final int FORMAT_DESCRIPTION_EVENT = 15;
    private static final Pattern NAME = Pattern.compile("([A-Za-z0-9_-][A-Za-z0-9._-]{0,63})\\.([0-9]{6,18})");

    /** Binlog file names as the log archive sees them. */
    static final LogNaming NAMING = BinlogArchive::file;

    private final String serverUuid;
    private final long serverId;
    private final LogStore logs;
    private final BinlogFileCheck check;

    private BinlogArchive(Builder b) {
        this.serverUuid = b.serverUuid;
        this.serverId = b.serverId;
        LogStore.Builder lb = LogStore.builder(b.repository, RepositoryLayout.binlogStream(b.serverUuid), NAMING)
                .compressionLevel(b.level).clock(b.clock);
        if (b.kek != null) {
            lb.keys(b.kek);
        }
        this.logs = lb.build();
        this.check = new BinlogFileCheck(serverId, logs.stream());
    }

    /**
     * An archive for the server whose binlogs carry {@code serverId} ({@code @@server_id}), under
     * stream {@code binlog/<serverUuid>}: a name that stays with the server's history (its {@code
     * server_uid}, or one the operator assigns), one path segment.
     */
    public static Builder builder(Repository repository, String serverUuid, long serverId) {
        return new Builder(repository, serverUuid, serverId);
    }

    /**
     * The log file {@code name} stands for: epoch the base name, position the sequence number.
     *
     * @throws IllegalArgumentException if {@code name} is not {@code <basename>.NNNNNN}
     */
    public static LogFile file(String name) {
        Matcher m = NAME.matcher(Objects.requireNonNull(name, "name"));
        if (!m.matches()) {
            throw new IllegalArgumentException("binlog file name: got '" + name + "', need <basename>.NNNNNN such as "
                    + "binlog.000001 (a base name of [A-Za-z0-9._-] and at least six digits)");
        }
        long n = Long.parseLong(m.group(2));
        return LogFile.positioned(m.group(1), name, n, n + 1);
    }

    /**
     * The name of the file after {@code name} in the server's sequence: same base name and width
     * (wider past the largest number of that width, as the server does).
     */
    public static String next(String name) {
        LogFile f = file(name);
        int width = name.length() - f.epoch().length() - 1;
        return f.epoch() + "." + String.format("%0" + width + "d", f.start() + 1);
    }

    public String serverUuid() {
        return serverUuid;
    }

    public long serverId() {
        return serverId;
    }

    /** The log stream name used in manifests' {@code requiredLogs}: {@code binlog/<server-uuid>}. */
    public String stream() {
        return logs.stream();
    }

    /** The log archive underneath: for replication, retention and continuity. */
    public LogStore logs() {
        return logs;
    }

    /**
     * Archives the local, complete binlog file {@code source} as {@code name}.
     *
     * @return whether it was stored now or was archived already with the same content
     * @throws IntegrityException if {@code source} is not a binlog file of this server (magic,
     *                            format description event, server id), or {@code name} is
     *                            archived with other content
     * @throws StorageException   if the repository fails
     */
    public LogStore.PutResult put(Path source, String name) {
        LogFile file = parseName(name);
        String key = logs.keyOf(file);
        try {
            long size = Files.size(source);
            check.checkHeader(source, name, key);
            Digest plain = BinlogFileCheck.sha256(source);
            return logs.put(file, () -> Files.newInputStream(source), size, plain, Map.of());
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.CAPTURE, "binlog file to archive " + source + " does not exist", e);
        } catch (IOException e) {
            throw StorageException.of(key, "could not archive " + name + ": " + e, e, null);
        }
    }

    /**
     * Restores archived {@code name} into {@code target}, verified; {@code target} is complete or absent.
     *
     * @return false if {@code name} is not archived
     * @throws IntegrityException if the stored or decoded bytes do not match the authenticated metadata
     */
    public boolean get(String name, Path target) {
        LogFile file = parseName(name);
        Path tmp = target.resolveSibling(target.getFileName() + ".backstop-tmp");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 64 * 1024)) {
                if (!logs.read(file, out)) {
                    return false;
                }
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return true;
        } catch (IOException e) {
            throw StorageException.of(logs.keyOf(file), "could not fetch " + name + " into " + target + ": " + e, e, null);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // a leftover temporary file next to the target is never read
            }
        }
    }

    /**
     * Archives bytes {@code [from, to)} of the unfinished binlog file {@code name}, read from the
     * local file {@code source} being received (the whole file from offset 0), as one immutable
     * delta object. Every delta, whatever its offset, checks the header of {@code source} like a
     * whole file (magic, format description event, server id): a receiver that resumes a file's
     * deltas after reconnecting to another server is refused, not continued with its bytes.
     *
     * @return the stored size, or 0 if the range was archived already
     * @throws IntegrityException if the range is archived with other bytes, the file is not a
     *                            binlog of this server, or {@code source} is shorter than {@code to}
     */
    public long putDelta(String name, long from, long to, Path source) {
        LogFile file = parseName(name);
        if (from < 0 || to <= from || from == 0 && to < MAGIC.length + EVENT_HEADER) {
            throw new IllegalArgumentException("binlog delta of " + name + ": got [" + from + ", " + to + "), need 0 <= from < to, "
                    + "and to >= " + (MAGIC.length + EVENT_HEADER) + " from offset 0");
        }
        String key = logs.keyOf(file);
        try (FileChannel ch = FileChannel.open(source, StandardOpenOption.READ)) {
            check.checkHeader(source, name, key);
            MessageDigest md = Digest.newSha256();
            long read;
            try (InputStream in = new DigestInputStream(new RangeInputStream(ch, from, to), md)) {
                read = in.transferTo(OutputStream.nullOutputStream());
            }
            if (read != to - from) {
                throw new IntegrityException(key, "bytes [" + from + ", " + to + ") of " + name, (to - from) + " bytes in " + source,
                        read + " bytes", null, null);
            }
            return logs.putDelta(file, from, to, () -> new RangeInputStream(ch, from, to), Digest.of(md.digest()), Map.of());
        } catch (IOException e) {
            throw StorageException.of(key, "could not archive [" + from + ", " + to + ") of " + name + ": " + e, e, null);
        }
    }

    /** The offset up to which the deltas of {@code name} run gap-free from offset 0 (0 if none), from a listing only. */
    public long deltaEnd(String name) {
        return logs.deltaEnd(parseName(name));
    }

    /** Deletes the deltas of {@code name}; call once it is archived whole. */
    public int deleteDeltas(String name) {
        return logs.deleteDeltas(parseName(name));
    }

    /**
     * Writes the archived prefix of the unfinished file {@code name}, verified, into {@code target}
     * (complete or absent): every delta of the gap-free run from offset 0.
     *
     * @return the length written, or -1 if {@code name} has no deltas
     * @throws IntegrityException if the deltas do not run gap-free from offset 0 or one does not verify
     */
    public long getPrefix(String name, Path target) {
        LogFile file = parseName(name);
        Path tmp = target.resolveSibling(target.getFileName() + ".backstop-tmp");
        try {
            long end;
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 64 * 1024)) {
                end = logs.readDeltas(file, out);
            }
            if (end >= 0) {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            return end;
        } catch (IOException e) {
            throw StorageException.of(logs.keyOf(file), "could not fetch the deltas of " + name + " into " + target + ": " + e, e, null);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // a leftover temporary file next to the target is never read
            }
        }
    }

    /** Whether {@code name} is archived. */
    public boolean contains(String name) {
        return logs.contains(parseName(name));
    }

    /** The authenticated metadata of archived {@code name}; empty if it is not archived. */
    public Optional<LogObject> metadata(String name) {
        return logs.metadata(parseName(name));
    }

    /** Every archived file, by base name then number (so {@code .999999} before {@code .1000000}). */
    public List<String> files() {
        return logs.files().stream().sorted(java.util.Comparator.comparing(LogFile::epoch).thenComparingLong(LogFile::start))
                .map(LogFile::name).toList();
    }

    /** Files missing between archived files of one base name. */
    public List<LogGap> gaps() {
        return logs.gaps();
    }

    /**
     * The oldest file of base name {@code baseName} from which the archive is continuous: it and
     * every file after it up to the newest archived one of that base name are archived whole (the
     * file after the newest may be held as deltas). A point-in-time recovery can replay from any
     * file of that run; one before it would stop at a gap. From a listing only.
     *
     * @return empty if no file of {@code baseName} is archived whole
     */
    public Optional<String> continuousFrom(String baseName) {
        Objects.requireNonNull(baseName, "baseName");
        List<LogFile> run = logs.files().stream().filter(f -> f.epoch().equals(baseName))
                .sorted(java.util.Comparator.comparingLong(LogFile::start)).toList();
        if (run.isEmpty()) {
            return Optional.empty();
        }
        int first = run.size() - 1;
        while (first > 0 && run.get(first - 1).end() == run.get(first).start()) {
            first--;
        }
        return Optional.of(run.get(first).name());
    }

    @Override
    public String toString() {
        return "BinlogArchive[server id " + serverId + ", " + logs + "]";
    }

    private static LogFile parseName(String name) {
        try {
            return file(name);
        } catch (IllegalArgumentException e) {
            throw new BackupException(Stage.CONFIGURE, e.getMessage(), e);
        }
    }


    /** Builder for {@link BinlogArchive}; not thread-safe; each setting once. */
    public static final class Builder {
        private final Repository repository;
        private final String serverUuid;
        private final long serverId;
        private KeyEncryptionKey kek;
        private int level = 3;
        private boolean levelSet;
        private Clock clock = Clock.systemUTC();
        private boolean clockSet;

        private Builder(Repository repository, String serverUuid, long serverId) {
            this.repository = Objects.requireNonNull(repository, "repository");
            this.serverUuid = Objects.requireNonNull(serverUuid, "serverUuid");
            if (serverId < 0 || serverId > 0xffffffffL) {
                throw new IllegalArgumentException("server id: got " + serverId + ", must be 0..4294967295");
            }
            this.serverId = serverId;
            RepositoryLayout.binlogStream(serverUuid); // validates the name now, not at the first write
        }

        /** Encrypts with data keys wrapped by {@code kek} and seals metadata; without it binlogs are compressed only. */
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

        /** The clock of {@code archivedAt} in metadata (default the system's UTC clock). */
        public Builder clock(Clock clock) {
            if (clockSet) {
                throw new IllegalStateException("clock: already set");
            }
            this.clock = Objects.requireNonNull(clock, "clock");
            this.clockSet = true;
            return this;
        }

        public BinlogArchive build() {
            return new BinlogArchive(this);
        }
    }
}
