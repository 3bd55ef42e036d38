package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupException;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbRestore;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.binlog.BinlogArchive;
import dev.backstop.mysql.physical.MariaDbBackupSource;
import dev.backstop.mysql.physical.MariaDbPhysicalRestore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;

/**
 * Point-in-time recovery of MariaDB: restores a logical ({@link dev.backstop.mysql.MariaDbDumpSource})
 * or physical ({@link MariaDbBackupSource}) backup, then replays the archived binlogs of its
 * server ({@link BinlogArchive}) from the backup's recorded binlog point to a {@link
 * RecoveryTarget}.
 *
 * <pre>{@code
 * BinlogRecovery recovery = BinlogRecovery.builder(restore, archive).build();
 * try (BinlogRecovery.Recovered r = recovery.recover(restore.latest(), RecoveryTarget.gtid("0-1-4711"))) {
 *     try (Connection c = r.server().connect("shop")) { ... }       // a throwaway server at that GTID
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> Before any server is started or written, {@link #prepare} checks that
 * the archive belongs to the backup's server (the server id the backup recorded; the archived
 * start file has an event boundary at the backup's position and, when the backup recorded one,
 * the same GTID position there), fetches every binlog file the recovery needs into a private
 * directory, verified (stored SHA-256, AEAD, plaintext SHA-256, through {@link
 * BinlogArchive#get}; the file still being written through {@link BinlogArchive#getPrefix}),
 * and resolves the target to a position on a transaction boundary. A start file that is not
 * archived, a missing file between it and the target ({@link BinlogArchive#gaps()}), an archive
 * that ends before the target, an archive of another server, or a target before the backup's
 * point is a {@link BackupException} (stage {@link Stage#RESTORE}) naming the file or point, and
 * nothing is touched. Then the backup is restored and the whole range is replayed in one
 * client session ({@link BinlogReplay}). A logical backup is restored into a database of its
 * source database's name (binlog events name databases) and only that database's events are
 * replayed ({@code mariadb-binlog --database}).
 *
 * <p><b>Restrictions.</b> Needs {@code mariadb-binlog} and {@code mariadb}, and for a throwaway
 * server {@code mariadbd} and {@code mariadb-install-db} (physical: {@code
 * mariadb-backup}), all of the backup's major version. The binlogs must be in a format {@code
 * mariadb-binlog} reads (MariaDB's); a logical backup's statements are replayed with the
 * {@code --database} filter, so a statement logged with another default database that changes
 * the backed-up one (statement format) is skipped, as {@code mariadb-binlog} documents. Disk:
 * the binlogs of the range, in {@link Builder#workDir}.
 *
 * <p><b>Threading.</b> Immutable; calls may run concurrently.
 */
public final class BinlogRecovery {
    private final Restore restore;
    private final BinlogArchive archive;
    private final MariaDbTools tools;
    private final Path workDir;
    private final boolean writeBinlog;
    private final Duration timeout;

    private BinlogRecovery(Builder b) {
        this.restore = b.restore;
        this.archive = b.archive;
        this.tools = b.tools;
        this.workDir = b.workDir;
        this.writeBinlog = b.writeBinlog;
        this.timeout = b.timeout;
    }

    /** Recovers backups read through {@code restore} with the binlogs in {@code archive}. */
    public static Builder builder(Restore restore, BinlogArchive archive) {
        return new Builder(restore, archive);
    }

    /** A throwaway server recovered to a target, and how it got there; closing it stops and deletes the server. */
    public record Recovered(EphemeralMariaDb server, RecoveryReport report) implements AutoCloseable {
        public Recovered {
            Objects.requireNonNull(server, "server");
            Objects.requireNonNull(report, "report");
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /**
     * Fetches, verifies and resolves the binlogs from {@code backup}'s point to {@code target},
     * touching no server. The caller closes the result (deleting the fetched files).
     *
     * @throws BackupException if the archive is not the backup's server's, misses a file, does
     *     not reach the target, or the target is before the backup (see the class Javadoc)
     */
    public BinlogReplay prepare(Manifest backup, RecoveryTarget target) {
        Objects.requireNonNull(target, "target");
        boolean logical = kind(backup);
        Path dir;
        try {
            dir = Files.createTempDirectory(workDir, "backstop-binlog-replay-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not create a directory in " + workDir + ": " + e, e, false, backup.id());
        }
        try {
            long began = System.nanoTime();
            ReplayPlanner planner = new ReplayPlanner(archive, backup, target, dir);
            BinlogReplay.Plan plan = planner.plan();
            long stop = planner.stops().isEmpty() ? plan.from().position() : planner.stops().get(planner.stops().size() - 1);
            return new BinlogReplay(dir, plan, stop, Duration.ofNanos(System.nanoTime() - began), tools,
                    logical ? backup.attributes().get("mariadb.database") : null, writeBinlog, timeout, backup.id());
        } catch (IOException e) {
            BinlogReplay.deleteTree(dir);
            throw new BackupException(Stage.RESTORE, "could not read the binlogs fetched for " + backup.id() + ": " + e, e, false,
                    backup.id());
        } catch (RuntimeException e) {
            BinlogReplay.deleteTree(dir);
            throw e;
        }
    }

    /**
     * Recovers {@code backup} to {@code target} in a throwaway server ({@link EphemeralMariaDb}
     * with this recovery's tools, under {@link Builder#workDir}) and returns it running; the
     * caller closes it. A logical backup's database has its source's name; a physical backup's
     * server keeps the source's accounts, and {@link EphemeralMariaDb#USER} gets a new password.
     *
     * @throws BackupException as {@link #prepare} (then no server was started), or if the
     *     restore or the replay fails (the server is then stopped and deleted)
     */
    public Recovered recover(Manifest backup, RecoveryTarget target) {
        boolean logical = kind(backup);
        try (BinlogReplay replay = prepare(backup, target)) {
            long began = System.nanoTime();
            EphemeralMariaDb server = logical ? restoreLogical(backup) : restorePhysical(backup);
            try {
                Duration restored = Duration.ofNanos(System.nanoTime() - began);
                Duration replayed = replay.applyTo(server.endpoint());
                return new Recovered(server, RecoveryReport.of(replay, restored, replayed));
            } catch (RuntimeException e) {
                closeQuietly(server, e);
                throw e;
            }
        }
    }

    /**
     * Recovers logical {@code backup} into the server at {@code endpoint}: restores its database
     * under its source name ({@link MariaDbRestore}, which refuses a database holding anything),
     * then replays. Nothing is written if {@link #prepare} refuses.
     *
     * @throws BackupException as {@link #prepare} and {@link MariaDbRestore#run}; for a physical
     *     backup use {@link #prepare}, restore it ({@link MariaDbPhysicalRestore#toDataDirectory}),
     *     start the server, then {@link BinlogReplay#applyTo}
     */
    public RecoveryReport recoverInto(Manifest backup, RecoveryTarget target, MariaDbEndpoint endpoint) {
        Objects.requireNonNull(endpoint, "endpoint");
        if (!kind(backup)) {
            throw new BackupException(Stage.CONFIGURE, "backup " + backup.id() + " is physical: recover it into a data directory "
                    + "with prepare(), MariaDbPhysicalRestore.toDataDirectory and BinlogReplay.applyTo", null, false, backup.id());
        }
        try (BinlogReplay replay = prepare(backup, target)) {
            long began = System.nanoTime();
            MariaDbRestore.builder(restore, endpoint, backup.attributes().get("mariadb.database")).tools(tools).workDir(workDir)
                    .writeBinlog(writeBinlog).build().run(backup);
            Duration restored = Duration.ofNanos(System.nanoTime() - began);
            return RecoveryReport.of(replay, restored, replay.applyTo(endpoint));
        }
    }

    private EphemeralMariaDb restoreLogical(Manifest backup) {
        EphemeralMariaDb server = EphemeralMariaDb.builder().tools(tools).baseDir(workDir).start();
        try {
            MariaDbRestore.builder(restore, server.endpoint(), backup.attributes().get("mariadb.database")).tools(tools)
                    .workDir(workDir).writeBinlog(false).build().run(backup);
            return server;
        } catch (RuntimeException e) {
            closeQuietly(server, e);
            throw e;
        }
    }

    private EphemeralMariaDb restorePhysical(Manifest backup) {
        return MariaDbPhysicalRestore.builder(restore).tools(tools).workDir(workDir).build().start(backup).server();
    }

    /** True for a logical backup, false for a physical one; refuses anything else. */
    private static boolean kind(Manifest backup) {
        String format = backup.attributes().get("mariadb.format");
        String engine = backup.source().engine();
        if ("mariadb".equals(engine) && MariaDbBackupSource.FORMAT.equals(format)) {
            return false;
        }
        if (("mariadb".equals(engine) || "mysql".equals(engine)) && "sql".equals(format)
                && backup.attributes().containsKey("mariadb.database")) {
            return true;
        }
        throw new BackupException(Stage.CONFIGURE, "backup " + backup.id() + " is no MariaDB backup to recover forward (engine "
                + engine + ", mariadb.format " + format + ")", null, false, backup.id());
    }

    private static void closeQuietly(EphemeralMariaDb server, RuntimeException failure) {
        try {
            server.close();
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    @Override
    public String toString() {
        return "BinlogRecovery[" + archive + "]";
    }

    /** Builder for {@link BinlogRecovery}; every setting but the restore and archive has a default; a setting given twice is refused. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Restore restore;
        private final BinlogArchive archive;
        private MariaDbTools tools = MariaDbTools.locate();
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private boolean writeBinlog;
        private Duration timeout = Duration.ofHours(6);

        private Builder(Restore restore, BinlogArchive archive) {
            this.restore = Objects.requireNonNull(restore, "restore");
            this.archive = Objects.requireNonNull(archive, "archive");
        }

        /** Where the MariaDB programs are found ({@link MariaDbTools#locate()} by default). */
        public Builder tools(MariaDbTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /**
         * Where the fetched binlogs, the option file and throwaway servers go (default {@code
         * java.io.tmpdir}); it needs room for the binlogs of the range (and a throwaway server's data).
         */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /**
         * Whether the target writes the replayed transactions (and, for {@link #recoverInto}, the
         * restore) to its own binary log, with their original GTIDs (default false: {@code
         * sql_log_bin=0} for the replay session). True for a target that will serve replicas or
         * be recovered forward again from its own binlog.
         */
        public Builder writeBinlog(boolean writeBinlog) {
            this.writeBinlog = given.once("writeBinlog", this.writeBinlog, writeBinlog);
            return this;
        }

        /** How long one replay may run (default 6 hours, 1 s..7 days). */
        public Builder timeout(Duration timeout) {
            if (timeout.compareTo(Duration.ofSeconds(1)) < 0 || timeout.compareTo(Duration.ofDays(7)) > 0) {
                throw new IllegalArgumentException("timeout: got " + timeout + ", must be 1 s..7 days");
            }
            this.timeout = given.once("timeout", this.timeout, timeout);
            return this;
        }

        public BinlogRecovery build() {
            return new BinlogRecovery(this);
        }
    }
}
