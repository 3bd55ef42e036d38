package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.BaseBackupSource.STREAM;
import static dev.backstop.postgres.physical.BaseBackupSource.SYSTEM_IDENTIFIER;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.Restore;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.internal.ServerFailures;
import dev.backstop.postgres.wal.WalFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A physical backup of a whole PostgreSQL cluster that reads the data directory itself between
 * {@code pg_backup_start} and {@code pg_backup_stop}, as pgBackRest does, instead of piping
 * pg_basebackup: no walsender and no second process copy the bytes. It writes the same single
 * stream ({@value BaseBackupSource#STREAM}) in the layout of {@code pg_basebackup -Ft -X fetch},
 * so {@link PointInTimeRecovery} restores and checks it unchanged.
 *
 * <pre>{@code
 * CaptureSource source = DataDirectorySource.builder(PgEndpoint.of("127.0.0.1", 5432, "postgres", password),
 *         Path.of("/var/lib/postgresql/15/main")).build();
 * Manifest m = BackupPipeline.builder().source(source).compress(ZstdTransform.builder().level(3).workers(2).build())
 *     .encrypt(Encryption.with(kek)).repository(repo).build().run();
 * }</pre>
 *
 * <p><b>Guarantees.</b> Before anything runs, the directory is checked to be the endpoint's own
 * data directory (the system identifier in {@code global/pg_control} and, when the role may read
 * it, {@code SHOW data_directory}). The tar holds the data directory with the exclusions of
 * PostgreSQL's basebackup.c, {@code global/pg_control} last, the
 * {@code backup_label} (and a non-empty {@code tablespace_map}) that {@code pg_backup_stop}
 * returned, every WAL segment from the start to the stop LSN with its {@code .done} marker, and
 * a {@code backup_manifest} with CRC-32C per file that a full {@code pg_verifybackup} accepts. A
 * temporary replication slot, created in the backup's session before the backup starts, keeps
 * that WAL on the server until it is read. Files changing under the backup are written with the
 * size they were listed with (padded with zeros if they shrank, cut if they grew; a file gone
 * before it is opened, a dropped relation, is skipped); WAL replay makes them consistent. The result
 * carries the same consistency keys, log range and attributes as {@link BaseBackupSource} plus
 * {@code postgresql.capture=datadir}. Any failure (server gone, unreadable file, missing WAL
 * segment) throws, so nothing is published; the server ends the backup and drops the slot when
 * the session closes. Memory is bounded by one read buffer plus a manifest line per file.
 * A copy of the {@code backup_manifest} is stored beside the tar as the stream {@code
 * backup_manifest}, which is what a later increment reads of this backup.
 *
 * <p><b>Increments.</b> With {@link Builder#level} {@link BackupLevel#DIFF} or {@link
 * BackupLevel#INCR} the tar holds every file that is new since the parent, not a relation's main
 * fork, or smaller than in the parent, whole; of the other relation files only the pages whose
 * LSN is at or after the parent's start LSN (or zero, or past the parent's size), as page-map
 * entries ({@code <dir>/INCREMENTAL.<file>}). Its {@code backup_manifest} lists the whole
 * cluster, with the size and CRC-32C of each file as the chain rebuilds it, so deleted files are
 * known and a rebuilt file is checked. The manifest records the parent ({@link
 * dev.backstop.core.manifest.Manifest#parent()}), so retention keeps it, and the attributes
 * {@code postgresql.backup_level}, {@code postgresql.chain_length} and {@code
 * postgresql.increment_from_lsn}. {@link PointInTimeRecovery} restores a chain. Memory grows
 * by a map entry per file of the parent and three 1 MiB windows.
 *
 * <p><b>From a standby.</b> Pointed at a standby and its data directory, it takes the backup
 * there ({@code postgresql.backup_from=standby}), off the primary's disks: the backup starts at
 * the standby's last restartpoint and stops at its minimum recovery point (what {@code
 * pg_backup_stop} answers on a standby), both positions in the primary's WAL, which the standby
 * replays byte for byte, so the recorded range, timeline and system identifier are the primary's
 * and point-in-time recovery reads the primary's WAL archive.
 *
 * <p><b>Restrictions.</b> Runs on the database host, as an OS user that can read the whole data
 * directory (the server's user, or a member of its group with {@code initdb -g}). PostgreSQL 10
 * or newer, a primary or a hot standby, 16 MiB WAL segments, no tablespaces besides pg_default
 * and pg_global. The role must be a superuser, or have REPLICATION and EXECUTE on the backup
 * functions ({@code pg_backup_start}/{@code pg_backup_stop}, before 15 {@code
 * pg_start_backup}/{@code pg_stop_backup}); {@code max_replication_slots} needs one free slot.
 *
 * <p>Past 400 lines for its builder (each setting checked once) and the one capture it runs
 * (start, walk, stop, manifest); the walk's page filtering and the chain's choice live in {@code
 * Increment}, {@code PageCopier} and {@code ChainPlanner}.
 *
 * <p><b>Threading.</b> Immutable; one {@link #capture} at a time per cluster.
 */
public final class DataDirectorySource implements CaptureSource {
    private static final int BUFFER_BYTES = 256 * 1024;

    private final PgEndpoint endpoint;
    private final Path dataDirectory;
    private final String label;
    private final boolean fastCheckpoint;
    private final Clock clock;
    private final BackupLevel level;
    private final BackupId parent;
    private final int maxChainLength;
    private final Restore parents;

    private DataDirectorySource(Builder b) {
        this.endpoint = b.endpoint;
        this.dataDirectory = b.dataDirectory;
        this.label = b.label;
        this.fastCheckpoint = b.fastCheckpoint;
        this.clock = b.clock;
        this.level = b.level;
        this.parent = b.parent;
        this.maxChainLength = b.maxChainLength;
        this.parents = b.parents;
    }

    /** A source backing up the cluster at {@code endpoint} by reading {@code dataDirectory}, its data directory. */
    public static Builder builder(PgEndpoint endpoint, Path dataDirectory) {
        return new Builder(endpoint, dataDirectory);
    }

    @Override
    public BackupType type() {
        return BackupType.PHYSICAL;
    }

    @Override
    public CaptureResult capture(Streams streams) throws IOException {
        // the parent's manifests are read from the repository while the server is connected to and checked
        try (ParentRead parentRead = Increment.readParent(endpoint, level, parent, parents);
                Connection c = endpoint.connect("postgres")) {
            c.setAutoCommit(true);
            Map<String, String> facts = PhysicalFacts.inspect(c, endpoint, "DataDirectorySource");
            int version = Integer.parseInt(facts.get("server_version_num"));
            if (version < 100000) {
                throw new CaptureFailedException("cluster at " + endpoint + " runs PostgreSQL " + facts.get("server_version")
                        + "; DataDirectorySource needs 10 or newer (non-exclusive backups and temporary slots)", null, null, null);
            }
            ServerChecks.check(c, endpoint, version, dataDirectory, facts.get(SYSTEM_IDENTIFIER));
            Increment increment = Increment.prepare(c, endpoint, facts.get(SYSTEM_IDENTIFIER), level, parent, maxChainLength, parentRead);
            try (Statement st = c.createStatement()) {
                String slot = "backstop_datadir_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
                // reserves WAL from now on and dies with this connection: the segments read after the stop are still there
                st.execute("SELECT pg_catalog.pg_create_physical_replication_slot('" + slot + "', true, true)");
            }
            long startLsn = startBackup(c, version);
            increment.checkStart(startLsn);
            ManifestWriter manifest = new ManifestWriter();
            LiveTar tar;
            Map<String, String> point;
            byte[] backupManifest;
            try (OutputStream out = streams.open(STREAM)) {
                tar = new LiveTar(out, manifest, BUFFER_BYTES);
                walk(new Walk(tar, manifest, increment), dataDirectory, "");
                // as basebackup.c: pg_control last, so it is no older than any file copied before it
                Path control = dataDirectory.resolve("global/pg_control");
                BasicFileAttributes ca = Files.readAttributes(control, BasicFileAttributes.class);
                if (!tar.file("global/pg_control", control, ca.size(), ca.lastModifiedTime().toInstant())) {
                    throw new NoSuchFileException(control.toString(), null, "pg_control vanished during the backup");
                }
                String[] stop = stopBackup(c, version);
                Instant now = clock.instant();
                tar.content("backup_label", stop[1].getBytes(java.nio.charset.StandardCharsets.UTF_8), now, true);
                if (stop[2] != null && !stop[2].isEmpty()) {
                    tar.content("tablespace_map", stop[2].getBytes(java.nio.charset.StandardCharsets.UTF_8), now, true);
                }
                point = PhysicalFacts.point(facts.get(SYSTEM_IDENTIFIER), stop[1], stop[0], "pg_backup_stop's answer");
                increment.checkTimeline(point.get(BaseBackupSource.TIMELINE));
                int tli = Integer.parseInt(point.get(BaseBackupSource.TIMELINE));
                long stopLsn = WalFile.parseLsn(stop[0]);
                writeWal(tar, tli, startLsn, stopLsn, now);
                backupManifest = manifest.finish(tli, startLsn, stopLsn);
                tar.content("backup_manifest", backupManifest, now, false);
                tar.finish();
            }
            // beside the tar, so that a later increment reads the file sizes without reading the tar
            try (OutputStream out = streams.open(ChainPlanner.MANIFEST_STREAM)) {
                out.write(backupManifest);
            }
            return increment.record(PhysicalFacts.result(endpoint, facts, point, tar.bytes(), tar.entries(), "datadir"));
        } catch (SQLException e) {
            throw new CaptureFailedException("physical backup of " + endpoint + " from " + dataDirectory + " failed: "
                    + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")", null, null, e, ServerFailures.retryable(e));
        }
    }

    private long startBackup(Connection c, int version) throws SQLException {
        String sql = version >= 150000 ? "SELECT pg_catalog.pg_backup_start(?, ?)::text"
                : "SELECT pg_catalog.pg_start_backup(?, ?, false)::text";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, label);
            ps.setBoolean(2, fastCheckpoint);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return WalFile.parseLsn(rs.getString(1));
            }
        }
    }

    /** Stop LSN, backup label, tablespace map. Does not wait for archiving: the WAL travels in the tar. */
    private static String[] stopBackup(Connection c, int version) throws SQLException {
        String sql = version >= 150000 ? "SELECT lsn::text, labelfile, spcmapfile FROM pg_catalog.pg_backup_stop(false)"
                : "SELECT lsn::text, labelfile, spcmapfile FROM pg_catalog.pg_stop_backup(false, false)";
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return new String[] {rs.getString(1), rs.getString(2), rs.getString(3)};
        }
    }

    /** The directory's entries in name order, with basebackup.c's exclusions; a vanished directory is skipped. */
    private record Walk(LiveTar tar, ManifestWriter manifest, Increment increment) {
    }

    private void walk(Walk w, Path dir, String rel) throws IOException {
        LiveTar tar = w.tar();
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                names.add(p.getFileName().toString());
            }
        } catch (NoSuchFileException gone) {
            return; // a database dropped during the backup
        }
        names.sort(null);
        boolean dbDir = ExclusionRules.isDatabaseDirectory(rel);
        Set<String> siblings = dbDir ? new HashSet<>(names) : Set.of();
        for (String name : names) {
            String child = rel.isEmpty() ? name : rel + "/" + name;
            if (ExclusionRules.excluded(name) || dbDir && ExclusionRules.excludedRelationFile(name, siblings)
                    || child.equals("global/pg_control")) {
                continue;
            }
            Path p = dir.resolve(name);
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException gone) {
                continue;
            }
            Instant modified = a.lastModifiedTime().toInstant();
            if (child.equals("pg_wal")) {
                // a symlink to another disk, perhaps: written as a directory, filled with the backup's WAL later
                tar.directory("pg_wal", modified);
                tar.directory("pg_wal/archive_status", modified);
            } else if (ExclusionRules.contentsExcluded(name) && (a.isDirectory() || a.isSymbolicLink())) {
                tar.directory(child, modified);
            } else if (a.isDirectory()) {
                tar.directory(child, modified);
                walk(w, p, child);
            } else if (a.isRegularFile() && w.increment().byPages(child, a.size())) {
                w.increment().copyPages(tar, w.manifest(), child, p, a.size(), modified);
            } else if (a.isRegularFile()) {
                tar.file(child, p, a.size(), modified);
            }
            // anything else (sockets, stray symlinks) is skipped, as basebackup.c does
        }
    }

    /**
     * Every segment from the start LSN's to the stop LSN's (the stop LSN itself excluded, as
     * basebackup.c counts), each with an empty {@code .done} so a promoted copy does not archive
     * it again, then the timeline history files.
     */
    private void writeWal(LiveTar tar, int tli, long startLsn, long stopLsn, Instant now) throws IOException {
        Path walDir = dataDirectory.resolve("pg_wal");
        WalFile seg = WalFile.segmentOf(tli, startLsn);
        WalFile last = WalFile.segmentOf(tli, Math.max(startLsn, stopLsn - 1));
        while (true) {
            Path f = walDir.resolve(seg.name());
            try {
                tar.exact("pg_wal/" + seg.name(), f, WalFile.SEGMENT_BYTES, Files.getLastModifiedTime(f).toInstant());
            } catch (NoSuchFileException e) {
                throw new CaptureFailedException("WAL segment " + seg.name() + " of the backup (start " + WalFile.formatLsn(startLsn)
                        + ", stop " + WalFile.formatLsn(stopLsn) + ") is missing from " + walDir
                        + " although a replication slot held it; was the slot dropped or pg_wal cleaned by hand?", null, null, e);
            }
            tar.content("pg_wal/archive_status/" + seg.name() + ".done", new byte[0], now, true);
            if (seg.segmentNumber() >= last.segmentNumber()) {
                break;
            }
            seg = seg.next();
        }
        List<String> histories = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(walDir, "*.history")) {
            ds.forEach(p -> histories.add(p.getFileName().toString()));
        }
        histories.sort(null);
        for (String h : histories) {
            Path f = walDir.resolve(h);
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            if (tar.file("pg_wal/" + h, f, a.size(), a.lastModifiedTime().toInstant())) {
                tar.content("pg_wal/archive_status/" + h + ".done", new byte[0], now, true);
            }
        }
    }

    /** The system identifier in the first 8 bytes (little-endian) of {@code global/pg_control}. */
    static long controlFileSystemId(Path dataDirectory) throws IOException {
        try (InputStream in = Files.newInputStream(dataDirectory.resolve("global/pg_control"))) {
            byte[] b = in.readNBytes(8);
            if (b.length < 8) {
                throw new IOException(dataDirectory.resolve("global/pg_control") + " has fewer than 8 bytes");
            }
            return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
        }
    }

    @Override
    public String toString() {
        return "DataDirectorySource[" + endpoint + ", " + dataDirectory + ", label=" + label + ", " + level.label()
                + (parent == null ? "" : " on " + parent) + "]";
    }

    /** Builder for {@link DataDirectorySource}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final PgEndpoint endpoint;
        private final Path dataDirectory;
        private String label = "backstop";
        private boolean fastCheckpoint = true;
        private Clock clock = Clock.systemUTC();
        private BackupLevel level = BackupLevel.FULL;
        private BackupId parent;
        private int maxChainLength = 7;
        private Restore parents;

        private Builder(PgEndpoint endpoint, Path dataDirectory) {
            this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
            this.dataDirectory = Objects.requireNonNull(dataDirectory, "dataDirectory").toAbsolutePath().normalize();
        }

        /** The label written into backup_label (default {@code backstop}). */
        public Builder label(String label) {
            this.label = given.once("label", this.label, PhysicalFacts.checkedLabel(label));
            return this;
        }

        /** Whether to ask for an immediate checkpoint (default true) instead of a spread one. */
        public Builder fastCheckpoint(boolean fast) {
            given.onceNullable("fastCheckpoint", this.fastCheckpoint, fast);
            this.fastCheckpoint = fast;
            return this;
        }

        /** The clock giving the modification time of the files the backup writes itself (default UTC system clock). */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /**
         * What the backup copies (default {@link BackupLevel#FULL}): {@link BackupLevel#DIFF}
         * builds on the newest full backup, {@link BackupLevel#INCR} on the newest backup, both
         * found through {@link #parents(Restore)} among the physical backups of the same server,
         * this source's or {@link BaseBackupSource}'s. With nothing to build on, or when the chain would grow past {@link
         * #maxChainLength}, the backup is full and its manifest says why ({@code
         * postgresql.backup_level_reason}). Increments need data checksums or {@code
         * wal_log_hints = on}, 8 KiB pages, and a parent of the same system identifier and
         * timeline; otherwise the capture fails naming both.
         */
        public Builder level(BackupLevel level) {
            this.level = given.once("level", this.level, level);
            return this;
        }

        /**
         * The parent of a {@link BackupLevel#DIFF} (a full backup) or {@link BackupLevel#INCR}
         * backup, instead of the newest one; a parent missing from the repository is refused.
         */
        public Builder parent(BackupId parent) {
            this.parent = given.once("parent", this.parent, parent);
            return this;
        }

        /**
         * The most backups a restore may have to read, the full one included (1..100, default 7:
         * a full and six increments); the backup that would make a chain longer is full.
         */
        public Builder maxChainLength(int maxChainLength) {
            if (maxChainLength < 1 || maxChainLength > 100) {
                throw new IllegalArgumentException("maxChainLength: got " + maxChainLength + ", must be 1..100");
            }
            given.onceNullable("maxChainLength", this.maxChainLength, maxChainLength);
            this.maxChainLength = maxChainLength;
            return this;
        }

        /**
         * Where parents are found and read: the repository this source's backups go to, with its
         * keys. Required for {@link BackupLevel#DIFF} and {@link BackupLevel#INCR}.
         */
        public Builder parents(Restore parents) {
            this.parents = given.once("parents", this.parents, parents);
            return this;
        }

        public DataDirectorySource build() {
            if (level != BackupLevel.FULL && parents == null) {
                throw new IllegalStateException("level " + level + " needs parents(Restore): where the parent backup is read");
            }
            if (level == BackupLevel.FULL && parent != null) {
                throw new IllegalStateException("parent " + parent + " given for a full backup; set level(DIFF) or level(INCR)");
            }
            return new DataDirectorySource(this);
        }
    }
}
