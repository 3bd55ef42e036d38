package dev.backstop.postgres.wal;

import dev.backstop.core.BackupException;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.Stage;
import dev.backstop.core.StorageException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A local, durable queue between {@code archive_command} and the WAL archive, so PostgreSQL is
 * never blocked on the network: {@link #enqueue} copies a WAL file into {@code ready/} (temporary
 * file, fsync, atomic rename, fsync of the directory) and returns; {@link #drain} uploads queued
 * files to a {@link WalArchive} in name order and removes each only after the archive committed it.
 *
 * <p><b>Guarantees.</b> A file is in {@code ready/} complete or not at all. Enqueueing the same
 * name again with the same content is accepted; with different content it fails (as the
 * archive itself would). A drain failure leaves the file queued for the next drain.
 *
 * <p><b>Restrictions.</b> Until drained, the spool is the only copy of a WAL file that PostgreSQL
 * may already have recycled: put the spool on durable local disk. One drainer at a time is
 * enforced by an OS lock on {@code drainer.lock} in the spool directory.
 *
 * <p><b>Errors.</b> A failure of the spool's disk is a {@link StorageException} naming the spool
 * file; a failure of the archive is the archive's {@link BackupException}.
 *
 * <p><b>Threading.</b> Enqueue may run from many processes; {@link #drain} from one thread.
 */
public final class WalSpool {
    private final Path dir;
    private final Path ready;
    private final Path tmp;

    private WalSpool(Path dir) throws IOException {
        this.dir = dir;
        this.ready = Files.createDirectories(dir.resolve("ready"));
        this.tmp = Files.createDirectories(dir.resolve("tmp"));
    }

    /**
     * A spool in {@code dir}, created if needed.
     *
     * @throws BackupException if the spool's directories could not be created
     */
    public static WalSpool at(Path dir) {
        try {
            return new WalSpool(Objects.requireNonNull(dir, "dir"));
        } catch (IOException e) {
            throw new BackupException(Stage.CONFIGURE, "could not create the WAL spool in " + dir + ": " + e, e);
        }
    }

    /** The spool's directory. */
    public Path directory() {
        return dir;
    }

    /**
     * Queues {@code source} as {@code name}.
     *
     * @throws IntegrityException if {@code name} is queued already with other content
     * @throws StorageException   if {@code source} cannot be read or the spool cannot be written
     */
    public void enqueue(Path source, String name) {
        try {
            copyIn(source, name);
        } catch (IOException e) {
            throw StorageException.of(ready.resolve(name).toString(), "could not queue " + source + ": " + e, e, null);
        }
    }

    private void copyIn(Path source, String name) throws IOException {
        WalFile.parse(name);
        Path target = ready.resolve(name);
        if (Files.exists(target)) {
            if (Files.mismatch(source, target) == -1) {
                return;
            }
            throw new IntegrityException(target.toString(), "queued WAL file " + name, "the content queued already",
                    "different content; refusing to replace it", null, null);
        }
        Path t = Files.createTempFile(tmp, name, ".part");
        try {
            Files.copy(source, t, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel ch = FileChannel.open(t, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(t, target, StandardCopyOption.ATOMIC_MOVE);
            try (FileChannel ch = FileChannel.open(ready, StandardOpenOption.READ)) {
                ch.force(true);
            }
        } finally {
            Files.deleteIfExists(t);
        }
    }

    /**
     * Names queued, in upload order (history files first, then segments by name).
     *
     * @throws StorageException if the spool cannot be listed
     */
    public List<String> queued() {
        try {
            return listReady();
        } catch (IOException e) {
            throw StorageException.of(ready.toString(), "could not list the WAL spool: " + e, e, null);
        }
    }

    private List<String> listReady() throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(ready)) {
            for (Path p : ds) {
                names.add(p.getFileName().toString());
            }
        }
        names.sort((a, b) -> {
            boolean ha = a.endsWith(".history");
            boolean hb = b.endsWith(".history");
            return ha == hb ? a.compareTo(b) : ha ? -1 : 1;
        });
        return names;
    }

    /**
     * Uploads every queued file to {@code archive}; returns how many were uploaded. Returns 0 at
     * once if a drainer (another process, or {@code backstop wal drain --follow}) holds the spool.
     *
     * @throws BackupException from the archive, or a {@link StorageException} of the spool; files not
     *     yet uploaded stay queued
     */
    public int drain(WalArchive archive) {
        try {
            return drainAll(archive);
        } catch (IOException e) {
            throw StorageException.of(ready.toString(), "could not drain the WAL spool: " + e, e, null);
        }
    }

    private int drainAll(WalArchive archive) throws IOException {
        try (WalDrainer.Lock lock = WalDrainer.Lock.tryAcquire(dir)) {
            if (lock == null) {
                return 0;
            }
            int n = 0;
            for (String name : queued()) {
                drainOne(archive, name);
                n++;
            }
            return n;
        }
    }

    /** Archives one queued file and removes it once the archive has it; the caller holds the drainer lock. */
    WalArchive.PutResult drainOne(WalArchive archive, String name) throws IOException {
        Path p = ready.resolve(name);
        WalArchive.PutResult r = archive.put(p, name);
        Files.delete(p);
        return r;
    }

    /**
     * The recovery point of the archive_command path: what {@code archive} holds, what is only
     * spooled, and the commit time of the oldest spooled commit (read from the spooled segments).
     * The server's position is unknown here ({@link RpoStatus#serverLsn()} is -1): WAL PostgreSQL
     * has not yet handed to archive_command shows in {@code pg_stat_archiver}, not here.
     */
    public RpoStatus rpo(WalArchive archive, Clock clock) {
        return rpo(archive, this, clock);
    }

    /**
     * The recovery point of {@code archive} with {@code spool} (or none: null) in front of it.
     *
     * @throws StorageException if a spooled segment cannot be read
     */
    public static RpoStatus rpo(WalArchive archive, WalSpool spool, Clock clock) {
        try {
            return recoveryPoint(archive, spool, clock);
        } catch (IOException e) {
            throw StorageException.of(spool == null ? null : spool.ready.toString(), "could not read the WAL spool: " + e, e, null);
        }
    }

    private static RpoStatus recoveryPoint(WalArchive archive, WalSpool spool, Clock clock) throws IOException {
        long archivedLsn = 0;
        int archivedTimeline = 0;
        for (WalFile f : archive.files()) {
            if (f.kind() == WalFile.Kind.SEGMENT && (f.timeline() > archivedTimeline
                    || f.timeline() == archivedTimeline && f.endLsn() > archivedLsn)) {
                archivedTimeline = f.timeline();
                archivedLsn = f.endLsn();
            }
        }
        Instant archivedCommit = archivedLsn == 0 ? null : archive.lastCommitBefore(archivedLsn).orElse(null);
        long localLsn = archivedLsn;
        Instant oldest = null;
        for (String name : spool == null ? List.<String>of() : spool.queued()) {
            WalFile f = WalFile.parse(name);
            if (f.kind() != WalFile.Kind.SEGMENT || f.timeline() < archivedTimeline || f.endLsn() <= archivedLsn) {
                continue;
            }
            localLsn = Math.max(localLsn, f.endLsn());
            if (oldest == null) {
                oldest = firstCommit(spool.ready.resolve(name), f);
            }
        }
        Instant now = clock.instant();
        Duration lag = oldest == null || oldest.isAfter(now) ? Duration.ZERO : Duration.between(oldest, now);
        return new RpoStatus(archivedLsn, archivedCommit, localLsn, -1, localLsn - archivedLsn, oldest, lag, now);
    }

    private static Instant firstCommit(Path file, WalFile f) throws IOException {
        Instant[] first = {null};
        CommitScanner scanner = new CommitScanner(f.startLsn(), (lsn, t) -> {
            if (first[0] == null) {
                first[0] = t;
            }
        });
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[64 * 1024];
            for (int n; first[0] == null && (n = in.read(buf)) > 0; ) {
                scanner.feed(ByteBuffer.wrap(buf, 0, n));
            }
        } catch (NoSuchFileException e) {
            return null; // drained meanwhile
        }
        return first[0];
    }
}
