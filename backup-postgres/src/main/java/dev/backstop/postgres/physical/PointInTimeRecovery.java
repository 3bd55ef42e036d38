package dev.backstop.postgres.physical;

import dev.backstop.core.internal.concurrent.LogContext;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupType;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.internal.ReadAhead;
import dev.backstop.postgres.internal.RoleThreads;
import dev.backstop.postgres.wal.WalArchive;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadFactory;

/**
 * Restores a base backup taken by {@link BaseBackupSource} into a fresh server and recovers it
 * to a {@link RecoveryTarget}: fetch and verify the base backup, extract it, check it with
 * {@code pg_verifybackup}, configure recovery, start, serve WAL from the archive with parallel
 * prefetch, wait for promotion.
 *
 * <pre>{@code
 * try (EphemeralPostgres pg = PointInTimeRecovery.builder(restore, manifest)
 *         .archive(walArchive).target(RecoveryTarget.time(t, true))
 *         .credentials("postgres", password).build().recover()) { ... }
 * }</pre>
 *
 * <p><b>Guarantees.</b> The base backup's bytes are verified against the manifest while they
 * stream (stored and plaintext SHA-256, AEAD); {@code pg_verifybackup} checks every file against
 * pg_basebackup's own manifest before the server is started; the restored configuration has
 * {@code archive_mode = off} and an empty {@code archive_command}, so the copy never writes into
 * the production archive; recovery promotes at the target ({@code recovery_target_action =
 * promote}). A WAL file that fails its integrity check makes recovery abort (restore_command exits
 * 255) rather than promote early; the failure is reported. Returned only once the server is
 * promoted and accepts writes; on any failure the directory is deleted.
 *
 * <p><b>Restrictions.</b> The server runs from this machine's binaries (same major version as
 * the backup). It authenticates with the backed-up cluster's roles: give a superuser's name and
 * password with {@link Builder#credentials}. Needs free disk for the extracted cluster.
 *
 * <p>Past 400 lines for its builder (each setting checked once) and its three entry points
 * ({@link #recover}, {@link #restoreTo}, {@link #prepare}) over one verified restore path; each
 * runs as one job under the backup's log context.
 *
 * <p><b>Threading.</b> Immutable; {@link #recover()} may run concurrently, each into its own
 * directory, using {@code parallelism} prefetch threads of its own, from {@link
 * Builder#threadFactory}.
 */
public final class PointInTimeRecovery {
    private final Restore restore;
    private final Manifest manifest;
    private final WalArchive archive;
    private final RecoveryTarget target;
    private final String user;
    private final String password;
    private final Path workDir;
    private final PgTools tools;
    private final int parallelism;
    private final int prefetchDepth;
    private final Duration timeout;
    private final boolean directIo;
    private final Clock clock;
    private final RoleThreads threads;

    private PointInTimeRecovery(Builder b) {
        this.restore = b.restore;
        this.manifest = b.manifest;
        this.archive = b.archive;
        this.target = b.target;
        this.user = b.user;
        this.password = b.password;
        this.workDir = b.workDir;
        this.tools = b.tools;
        this.parallelism = b.parallelism;
        this.prefetchDepth = b.prefetchDepth;
        this.timeout = b.timeout;
        this.directIo = b.directIo;
        this.clock = b.clock;
        this.threads = RoleThreads.of(b.threadFactory);
    }

    public static Builder builder(Restore restore, Manifest manifest) {
        return new Builder(restore, manifest);
    }

    /**
     * Restores, recovers and returns the promoted server; the caller closes it.
     *
     * @throws IllegalStateException if the target pauses or shuts down instead of promoting
     *     (use {@link #prepare} for those)
     */
    public EphemeralPostgres recover() {
        LogContext.Scope log = LogContext.open(restore.repository().sink()).backupId(manifest.id()).stage(Stage.RESTORE);
        try {
            return recoverInScope();
        } finally {
            log.close();
        }
    }

    private EphemeralPostgres recoverInScope() {
        if (target.action() != RecoveryTarget.Action.PROMOTE) {
            throw new IllegalStateException("recover() waits for promotion; target " + target + " ends with "
                    + target.action().setting() + ": use prepare(dir, restoreCommand)");
        }
        Path dir;
        try {
            dir = Files.createTempDirectory(workDir, "backstop-pitr-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not create a directory under " + workDir + ": " + e, e);
        }
        Path data = dir.resolve("data");
        WalBroker broker = null;
        EphemeralPostgres server = null;
        try {
            restoreTo(data);
            if (target.needsArchive()) {
                broker = new WalBroker(archive, dir.resolve("wal-broker"), parallelism, prefetchDepth, threads);
                broker.start();
            }
            RecoverySettings.write(data, target, broker == null ? null : broker.restoreCommand());
            try {
                server = EphemeralPostgres.builder().tools(tools).startTimeout(timeout).startExisting(dir, user, password);
            } catch (BackupException e) {
                // recovery can end (target unreachable, bad WAL) before start-up completes or after:
                // the same failure either way, told by the server's own words
                String why = e.getCause() instanceof IOException io ? io.getMessage() : e.getMessage();
                throw new IOException("the restored server stopped before promotion (target " + target + "): " + why, e);
            }
            Promotion.await(server, broker, target, clock, timeout);
            return server;
        } catch (IOException | RuntimeException e) {
            RuntimeException brokerFailure = broker == null ? null : broker.failure();
            if (server != null) {
                closeQuietly(server);
            } else {
                deleteQuietly(dir);
            }
            // a WAL integrity or storage failure explains the rest; a broker that merely lost its
            // directory (removed when the server failed to start) does not
            if (brokerFailure != null && brokerFailure.getCause() instanceof BackupException cause) {
                if (cause != e) {
                    cause.addSuppressed(e);
                }
                throw cause;
            }
            if (brokerFailure != null && brokerFailure != e) {
                e.addSuppressed(brokerFailure);
            }
            if (e instanceof BackupException be) {
                throw be;
            }
            throw new BackupException(Stage.RESTORE, "point-in-time recovery of " + manifest.id() + " to " + target + " failed: "
                    + e.getMessage(), e, false, manifest.id());
        } finally {
            if (broker != null) {
                broker.close();
            }
        }
    }

    /**
     * Only restores the files: fetches the base backup (digests and AEAD verified as it streams),
     * extracts it into the new directory {@code data}, checks it with {@code pg_verifybackup} and
     * fsyncs every file and directory before returning, so a restore reported done survives a
     * crash of the host. No recovery settings are written and no server is started. On any
     * failure the directory and whatever was extracted into it are deleted: a half-restored
     * cluster never stays behind.
     *
     * <p>An increment ({@link BackupLevel#DIFF}, {@link BackupLevel#INCR}) is restored with its
     * chain of parents: every manifest of the chain is authenticated first, so a missing
     * (expired) or untrusted parent fails naming it before anything is written; then the backups
     * are read newest first, each page written once from the newest backup holding it, every
     * backup verified as it streams (a failure names the backup), each rebuilt file checked
     * against the CRC-32C of the newest {@code backup_manifest}, and the whole by {@code
     * pg_verifybackup}. The files are written into a sibling directory that becomes {@code
     * data} by a rename once every check passed, so on failure {@code data} never exists.
     *
     * @return the number of files extracted
     */
    public int restoreTo(Path data) {
        LogContext.Scope log = LogContext.open(restore.repository().sink()).backupId(manifest.id()).stage(Stage.RESTORE);
        try {
            return restoreInScope(data);
        } finally {
            log.close();
        }
    }

    private int restoreInScope(Path data) {
        if (manifest.parent().isPresent()) {
            return new ChainRestore(restore, manifest, tools, threads, directIo).restoreTo(data);
        }
        try {
            Files.createDirectory(data, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "restoring base backup " + manifest.id() + ": could not create " + data
                    + " (it must not exist yet): " + e, e, false, manifest.id());
        }
        try {
            Map<String, long[]> crcs = new java.util.HashMap<>();
            int n;
            // not redundant with Restore's own decode thread, which stops at AEAD: zstd and the plaintext
            // digest run on the read-ahead thread, extraction on this one
            try (FileSyncer syncer = new FileSyncer(threads.named("backstop-fsync"));
                 InputStream in = ReadAhead.of(restore.open(manifest, BaseBackupSource.STREAM), 1 << 20, 16,
                         threads.named("backstop-readahead-base-backup"))) {
                n = BaseBackupTar.extract(in, data, crcs, syncer::sync, directIo);
                new BackupManifestCheck(manifest, tools).verify(data, crcs);
                syncer.finish(data);
            }
            return n;
        } catch (IOException | RuntimeException e) {
            deleteQuietly(data);
            if (e instanceof BackupException be) {
                throw be;
            }
            throw new BackupException(Stage.RESTORE, "restoring base backup " + manifest.id() + " into " + data + " failed: "
                    + e.getMessage(), e, false, manifest.id());
        }
    }

    /**
     * Restores into {@code data}, a directory that is kept, and configures recovery to the target
     * for a server the caller starts ({@code pg_ctl start -D data}) and owns: unlike {@link
     * #recover()}, no server is started and no thread of this JVM serves WAL, so the directory
     * recovers on its own, with {@code restoreCommand}, whenever and wherever it is started.
     *
     * <p><b>Guarantees.</b> Everything {@link #restoreTo} guarantees (bytes verified as they
     * stream, {@code pg_verifybackup}, every file fsynced), then {@code postgresql.auto.conf}
     * gets {@code archive_mode = off}, an empty {@code archive_command}, {@code primary_conninfo}
     * and {@code primary_slot_name} (the copy never archives into the source's repository nor
     * follows its primary), and, unless the target is {@link RecoveryTarget#consistent()}, {@code
     * restore_command}, {@code recovery_target_timeline = latest}, the target's settings
     * ({@code recovery_target_action = promote}) and {@code recovery.signal}; these are fsynced
     * before this returns. On any failure the directory and what was written into it are deleted.
     *
     * <p><b>Restrictions.</b> {@code restoreCommand} runs as the server's OS user for as long as
     * recovery runs: it must write the archived file {@code %f} to {@code %p} only once it
     * checked out, exit 0 then and nonzero when the archive does not hold the file (for example
     * {@code backstop wal archive-get %f %p --config ...}, whose configuration that user must be
     * able to read). The caller hands the directory to the server's OS user and chooses port and
     * socket directory when starting it. The archive given to the builder is used only to check
     * that it is the backup's system; WAL is read by {@code restoreCommand}.
     *
     * @param data the data directory to create; it must not exist yet, its parent must
     * @param restoreCommand PostgreSQL's {@code restore_command}, with {@code %f} and {@code %p};
     *     may be null only for {@link RecoveryTarget#consistent()}
     * @return the settings appended to {@code postgresql.auto.conf}, in order
     * @throws IllegalArgumentException if {@code restoreCommand} lacks {@code %f} or {@code %p}
     * @throws BackupException if the restore or the configuration failed (nothing is left)
     */
    public Map<String, String> prepare(Path data, String restoreCommand) {
        if (target.needsArchive() && (restoreCommand == null || !restoreCommand.contains("%f") || !restoreCommand.contains("%p"))) {
            throw new IllegalArgumentException("restoreCommand: got " + (restoreCommand == null ? "null" : "'" + restoreCommand + "'")
                    + ", need a command with %f (the WAL file's name) and %p (where to write it) for target " + target);
        }
        restoreTo(data);
        try {
            Map<String, String> settings = RecoverySettings.write(data, target, restoreCommand);
            RecoverySettings.force(data, target);
            return settings;
        } catch (IOException | RuntimeException e) {
            deleteQuietly(data);
            throw new BackupException(Stage.RESTORE, "configuring recovery of " + manifest.id() + " in " + data + " failed: "
                    + e.getMessage(), e, false, manifest.id());
        }
    }

    private static void closeQuietly(EphemeralPostgres server) {
        try {
            server.close();
        } catch (IOException ignored) {
            // the failure being reported matters more than a failed cleanup
        }
    }

    static void deleteQuietly(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: only throwaway data
        }
    }

    @Override
    public String toString() {
        return "PointInTimeRecovery[" + manifest.id() + " to " + target + (archive == null ? "" : " with " + archive) + "]";
    }

    /** Builder for {@link PointInTimeRecovery}; not thread-safe. */
    public static final class Builder {
        private final Settings given = new Settings();
        private final Restore restore;
        private final Manifest manifest;
        private WalArchive archive;
        private RecoveryTarget target = RecoveryTarget.consistent();
        private String user = "postgres";
        private String password;
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private PgTools tools = PgTools.locate();
        private int parallelism = 2;
        private int prefetchDepth = 8;
        private Duration timeout = Duration.ofMinutes(10);
        private boolean directIo = true;
        private Clock clock = Clock.systemUTC();
        private ThreadFactory threadFactory;

        private Builder(Restore restore, Manifest manifest) {
            this.restore = Objects.requireNonNull(restore, "restore");
            this.manifest = Objects.requireNonNull(manifest, "manifest");
            if (manifest.type() != BackupType.PHYSICAL || manifest.object(BaseBackupSource.STREAM).isEmpty()) {
                throw new IllegalArgumentException("backup " + manifest.id() + ": got a " + manifest.type().label()
                        + " backup with objects " + manifest.objects().stream().map(o -> o.name()).toList()
                        + ", need a physical backup with '" + BaseBackupSource.STREAM + "' from BaseBackupSource");
            }
        }

        /** The WAL archive to recover from; required unless the target is {@link RecoveryTarget#consistent()}. */
        public Builder archive(WalArchive archive) {
            this.archive = given.once("archive", this.archive, archive);
            return this;
        }

        public Builder target(RecoveryTarget target) {
            this.target = given.once("target", this.target, target);
            return this;
        }

        /** A superuser of the backed-up cluster, used to connect to the restored one. */
        public Builder credentials(String user, String password) {
            this.user = given.once("credentials", this.user, user);
            this.password = password;
            return this;
        }

        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        public Builder tools(PgTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Threads fetching WAL ahead of replay (1..16, default 2). */
        public Builder parallelism(int parallelism) {
            if (parallelism < 1 || parallelism > 16) {
                throw new IllegalArgumentException("parallelism: got " + parallelism + ", must be 1..16");
            }
            given.onceNullable("parallelism", this.parallelism, parallelism);
            this.parallelism = parallelism;
            return this;
        }

        /** Segments fetched ahead of the one being replayed (0..256, default 8): bounds the disk used. */
        public Builder prefetchDepth(int depth) {
            if (depth < 0 || depth > 256) {
                throw new IllegalArgumentException("prefetchDepth: got " + depth + ", must be 0..256");
            }
            given.onceNullable("prefetchDepth", this.prefetchDepth, depth);
            this.prefetchDepth = depth;
            return this;
        }

        /** How long start-up, replay and promotion may take together (default 10 minutes). */
        public Builder timeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout: got " + timeout + ", must be positive");
            }
            given.onceNullable("timeout", this.timeout, timeout);
            this.timeout = timeout;
            return this;
        }

        /**
         * Whether the restored files are written with direct I/O where the file system allows it
         * (default true): cheaper by several times in CPU on virtual machines, but the files are
         * not left in the page cache. False writes through the page cache, for a server that is to
         * start on the restored files at once and would rather find them cached.
         */
        public Builder directIo(boolean directIo) {
            given.onceNullable("directIo", this.directIo, directIo);
            this.directIo = directIo;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /**
         * Makes the threads of {@link #recover()}: WAL prefetch and its broker, base-backup read-ahead
         * and fsync (default: daemon threads named {@code backstop-*} after their role).
         */
        public Builder threadFactory(ThreadFactory threadFactory) {
            this.threadFactory = given.once("threadFactory", this.threadFactory, threadFactory);
            return this;
        }

        public PointInTimeRecovery build() {
            if (target.needsArchive() && archive == null) {
                throw new IllegalStateException("target " + target + " needs WAL from the archive: set archive(WalArchive)");
            }
            String sysid = manifest.consistency().properties().get(BaseBackupSource.SYSTEM_IDENTIFIER);
            if (archive != null && sysid != null && Long.parseUnsignedLong(sysid) != archive.systemId()) {
                throw new IllegalArgumentException("archive: got the WAL of system " + Long.toUnsignedString(archive.systemId())
                        + ", but backup " + manifest.id() + " is of system " + sysid);
            }
            return new PointInTimeRecovery(this);
        }
    }
}
