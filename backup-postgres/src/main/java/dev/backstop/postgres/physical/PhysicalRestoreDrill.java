package dev.backstop.postgres.physical;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.Restore;
import dev.backstop.core.Stage;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.Validator;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.validate.DrillRun;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.wal.WalArchive;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadFactory;

/**
 * Proves a physical backup restores: recovers it into a throwaway server ({@link
 * PointInTimeRecovery}) to its consistent point or to a {@link RecoveryTarget}, checks every
 * database with {@code pg_amcheck --heapallindexed}, reads the data-checksum counters, and, for a
 * restore point recorded by {@link RestorePoints}, compares each database with the fingerprints
 * taken there.
 *
 * <pre>{@code
 * ValidationResult r = PhysicalRestoreDrill.builder().credentials("postgres", password).build().validate(base, restore);
 * ValidationResult pitr = PhysicalRestoreDrill.builder().credentials("postgres", password)
 *     .archive(wal).target(RecoveryTarget.restorePoint("before-release-42")).build().validate(base, restore);
 * }</pre>
 *
 * <p><b>What a passed drill proves.</b> Always: the base backup's objects verified end to end
 * (digests, AEAD), every file matched its {@code backup_manifest} (CRC-32C) and {@code
 * pg_verifybackup} accepted it, WAL replay reached the target and the server was promoted and
 * accepted connections; {@code pg_amcheck --heapallindexed} found nothing in any database (every
 * heap and TOAST page and every B-tree index read, each index holding exactly the heap's tuples);
 * and where the cluster has data checksums, no page the server read failed its checksum
 * ({@code pg_stat_database.checksum_failures}). For a target that {@link RestorePoints} recorded:
 * every database equals, table by table and schema object by schema object, the source at that
 * point (unlogged tables, which recovery empties, and sequence positions, which recovery may
 * leave further on, aside). Measurements: {@code rto_ms} (fetch, verify, extract, replay, start,
 * until the server accepts writes), {@code target}, {@code databases}, {@code amcheck} ({@code
 * passed}, {@code failed} or {@code skipped}), {@code data_checksums} ({@code on}/{@code off}),
 * {@code checksum_failures}, {@code fingerprints} ({@code compared} or {@code not-recorded}) and
 * {@code tables}. Every problem is a finding naming the object, database or step. Unless turned
 * off, the result is appended to the repository as a validation record of the base backup. The
 * throwaway server is always stopped and its directory deleted.
 *
 * <p><b>Restrictions.</b> Needs the PostgreSQL server programs of the backup's major version,
 * {@code pg_amcheck} among them (checked before anything is fetched), and credentials of a
 * superuser of the backed-up cluster. Index types other than B-tree, free-space and visibility
 * maps are not read, so their checksums are not checked. Throws only when the drill could not run
 * at all ({@code pg_amcheck} missing, the repository unreachable).
 *
 * <p><b>Threading.</b> Immutable and thread-safe; each run starts its own server.
 */
public final class PhysicalRestoreDrill implements Validator {
    /** The name recorded with each result. */
    public static final String NAME = "physical-restore-drill";

    private final WalArchive archive;
    private final RecoveryTarget target;
    private final String user;
    private final String password;
    private final PgTools tools;
    private final Path workDir;
    private final int jobs;
    private final boolean amcheck;
    private final boolean record;
    private final Duration timeout;
    private final Clock clock;
    private final ThreadFactory threadFactory;

    private PhysicalRestoreDrill(Builder b) {
        this.archive = b.archive;
        this.target = b.target;
        this.user = b.user;
        this.password = b.password;
        this.tools = b.tools;
        this.workDir = b.workDir;
        this.jobs = b.jobs;
        this.amcheck = b.amcheck;
        this.record = b.record;
        this.timeout = b.timeout;
        this.clock = b.clock;
        this.threadFactory = b.threadFactory;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ValidationResult validate(Manifest m, Restore restore) throws IOException {
        Path amcheckTool = amcheck ? amcheckTool() : null;
        DrillRun run = DrillRun.start(NAME, m, restore, clock, record, null);
        List<String> findings = run.findings();
        Map<String, String> measured = run.measured();
        measured.put("target", describe(target));
        RecordedRestorePoint expected = null;
        if (target instanceof RecoveryTarget.RestorePoint rp) {
            try {
                expected = RestorePoints.read(restore.repository(), archive.systemId(), rp.name()).orElse(null);
            } catch (BackupException e) {
                if (e.retryable()) {
                    throw e;
                }
                findings.add(e.getMessage());
                return run.finish();
            }
        }
        EphemeralPostgres server;
        try {
            PointInTimeRecovery.Builder pb = PointInTimeRecovery.builder(restore, m).target(target).credentials(user, password)
                    .workDir(workDir).tools(tools).timeout(timeout);
            if (archive != null) {
                pb.archive(archive);
            }
            if (threadFactory != null) {
                pb.threadFactory(threadFactory);
            }
            server = pb.build().recover();
        } catch (BackupException e) {
            if (e.retryable()) {
                throw e;
            }
            findings.add(e.getMessage());
            return run.finish();
        } catch (IllegalArgumentException | IllegalStateException e) {
            findings.add("backup " + m.id() + " cannot be recovered to " + target + ": " + e.getMessage());
            return run.finish();
        }
        measured.put("rto_ms", Long.toString(run.elapsed().toMillis()));
        try (server) {
            DrillChecks checks = new DrillChecks(server, findings, measured);
            List<String> databases = checks.databases();
            if (expected != null) {
                // before pg_amcheck, which installs its extension into every database
                compare(server, expected, findings, measured);
            } else {
                measured.put("fingerprints", "not-recorded");
            }
            if (amcheckTool != null) {
                checks.amcheck(amcheckTool, jobs, workDir);
            } else {
                measured.put("amcheck", "skipped");
            }
            checks.checksums();
            measured.put("databases", Integer.toString(databases.size()));
        } catch (SQLException e) {
            findings.add("could not read the restored server: " + e.getMessage());
        }
        return run.finish();
    }

    private Path amcheckTool() {
        try {
            return tools.tool("pg_amcheck");
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.VERIFY, "physical restore drill: " + e.getReason() + " (pg_amcheck ships with "
                    + "PostgreSQL 14 and later; or build the drill with amcheck(false) to skip the check)", e);
        }
    }

    /** Compares each database the point recorded with the restored one; a database missing is a finding. */
    private static void compare(EphemeralPostgres server, RecordedRestorePoint expected, List<String> findings,
                                Map<String, String> measured) throws SQLException {
        int tables = 0;
        for (Map.Entry<String, Fingerprints> e : expected.sortedDatabases().entrySet()) {
            Fingerprints actual;
            try (Connection c = server.connect(e.getKey())) {
                c.setAutoCommit(false);
                c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                try {
                    actual = PointPrints.take(c, e.getValue());
                } finally {
                    c.rollback();
                }
            } catch (SQLException ex) {
                if ("3D000".equals(ex.getSQLState())) {
                    findings.add("database " + e.getKey() + ": missing at " + expected);
                    continue;
                }
                throw ex;
            }
            tables += actual.tables().size();
            for (String d : PointPrints.differences(e.getValue(), actual)) {
                findings.add("database " + e.getKey() + ": " + d);
            }
        }
        measured.put("fingerprints", "compared");
        measured.put("tables", Integer.toString(tables));
    }

    private static String describe(RecoveryTarget t) {
        if (t instanceof RecoveryTarget.Consistent) {
            return "consistent";
        }
        if (t instanceof RecoveryTarget.RestorePoint rp) {
            return "restore-point:" + rp.name();
        }
        return t.settings().isEmpty() ? "latest" : String.join(",", t.settings().values());
    }

    @Override
    public String toString() {
        return "PhysicalRestoreDrill[" + describe(target) + (archive == null ? "" : " with " + archive) + "]";
    }

    /** Builder for {@link PhysicalRestoreDrill}; every setting has a default; a setting given twice is refused. */
    public static final class Builder {
        private final Settings given = new Settings();
        private WalArchive archive;
        private RecoveryTarget target = RecoveryTarget.consistent();
        private String user = "postgres";
        private String password;
        private PgTools tools = PgTools.locate();
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private int jobs = 2;
        private boolean amcheck = true;
        private boolean record = true;
        private Duration timeout = Duration.ofMinutes(30);
        private Clock clock = Clock.systemUTC();
        private ThreadFactory threadFactory;

        private Builder() {
        }

        /** The WAL archive to recover from; required for every target but the consistent point. */
        public Builder archive(WalArchive archive) {
            this.archive = given.once("archive", this.archive, archive);
            return this;
        }

        /** Where recovery stops (default {@link RecoveryTarget#consistent()}: the end of the base backup). */
        public Builder target(RecoveryTarget target) {
            this.target = given.once("target", this.target, target);
            return this;
        }

        /** A superuser of the backed-up cluster, to connect to the restored one (default user {@code postgres}, no password). */
        public Builder credentials(String user, String password) {
            this.user = given.once("credentials", this.user, user);
            this.password = password;
            return this;
        }

        public Builder tools(PgTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Where the restored cluster lives while the drill runs (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /** Parallel jobs of pg_amcheck (1..64, default 2). */
        public Builder jobs(int jobs) {
            if (jobs < 1 || jobs > 64) {
                throw new IllegalArgumentException("jobs: got " + jobs + ", must be 1..64");
            }
            given.onceNullable("jobs", this.jobs, jobs);
            this.jobs = jobs;
            return this;
        }

        /** Whether to run pg_amcheck (default true). */
        public Builder amcheck(boolean amcheck) {
            given.onceNullable("amcheck", this.amcheck, amcheck);
            this.amcheck = amcheck;
            return this;
        }

        /** Whether to append the result to the repository's validation records (default true). */
        public Builder record(boolean record) {
            given.onceNullable("record", this.record, record);
            this.record = record;
            return this;
        }

        /** How long start-up, replay and promotion may take (default 30 minutes). */
        public Builder timeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout: got " + timeout + ", must be positive");
            }
            this.timeout = given.once("timeout", this.timeout, timeout);
            return this;
        }

        /** The clock stamping results and measuring the recovery time. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /** Makes the recovery's threads (see {@link PointInTimeRecovery.Builder#threadFactory}). */
        public Builder threadFactory(ThreadFactory threadFactory) {
            this.threadFactory = given.once("threadFactory", this.threadFactory, threadFactory);
            return this;
        }

        public PhysicalRestoreDrill build() {
            if (target.needsArchive() && archive == null) {
                throw new IllegalStateException("target " + target + " needs WAL from the archive: set archive(WalArchive)");
            }
            return new PhysicalRestoreDrill(this);
        }
    }
}
