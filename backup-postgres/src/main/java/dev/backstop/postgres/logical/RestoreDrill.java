package dev.backstop.postgres.logical;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.StorageException;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.Validator;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.validate.DrillRun;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.PostgresProvider;
import dev.backstop.postgres.internal.ToolProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves a logical backup restores exactly: restores it into a throwaway server, recomputes
 * {@link PgFingerprints} there and compares them with the ones recorded in the backup's
 * snapshot, runs {@code pg_amcheck} over tables and indexes, and measures the recovery time.
 *
 * <pre>{@code
 * ValidationResult r = RestoreDrill.builder().build().validate(manifest, restore);
 * if (!r.passed()) alert(r.findings());            // or: .validate(manifest, restore).orThrow();
 * }</pre>
 *
 * <p><b>Guarantees.</b> Each difference is one finding naming the table or schema object, what
 * differs and, where readable, the expected and the actual value ({@code trigger
 * public.orders.audit_trg: missing}, {@code sequence public.s: expected last_value 1843, found 1},
 * {@code table public.t: expected content hash c:…, found c:…}); see {@link PgFingerprints}. By
 * default owners and privileges are proven too: the roles the backup's objects name are created on
 * the throwaway server (without login) and the restore keeps owners and grants;
 * {@link Builder#ignoreOwnershipAndPrivileges()} relaxes that explicitly. A backup that fails
 * verification before the restore (a corrupted object) is a finding too, as is a pg_restore or
 * pg_amcheck failure. Measurements: {@code rto_ms} (fetch + verify + load), {@code fetch_ms},
 * {@code load_ms}, {@code verify_ms}, {@code tables}, {@code rows}, {@code plaintext_bytes},
 * {@code amcheck}, {@code ownership} ({@code compared} or {@code ignored}) and {@code coverage}
 * ({@code full}, or {@code sampled} with {@code sample_round}, {@code sample_cycle} and
 * {@code sample_tables}: see {@link Builder#sample(double)}). Unless turned off, the result is
 * appended to the repository as a validation record. The throwaway server is always stopped and
 * deleted.
 *
 * <p><b>Restrictions.</b> Throws only when the drill could not run at all (no server could be
 * started, the repository is unreachable). Backups recorded before per-object proofs restore
 * without owners and privileges and compare the schema by one hash. A sampled pass proves the
 * schema and the sampled tables only: read {@code coverage} before counting it as a full proof.
 *
 * <p><b>Threading.</b> Immutable and thread-safe; each run starts its own server.
 */
public final class RestoreDrill implements Validator {
    private static final Logger LOG = LoggerFactory.getLogger(RestoreDrill.class);
    /** The name recorded with each result. */
    public static final String NAME = "restore-drill";
    private static final String DATABASE = "drill";

    private final PostgresProvider provider;
    private final PgTools tools;
    private final int jobs;
    private final boolean amcheck;
    private final boolean record;
    private final Path workDir;
    private final Clock clock;
    private final boolean ignoreOwnership;
    private final double sample;

    private RestoreDrill(Builder b) {
        this.tools = b.tools;
        this.provider = b.provider != null ? b.provider : EphemeralPostgres.provider(b.tools);
        this.jobs = b.jobs;
        this.amcheck = b.amcheck;
        this.record = b.record;
        this.workDir = b.workDir;
        this.clock = b.clock;
        this.ignoreOwnership = b.ignoreOwnership;
        this.sample = b.sample;
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
        return DrillRun.inLogContext(m, restore, () -> drill(m, restore));
    }

    private ValidationResult drill(Manifest m, Restore restore) throws IOException {
        DrillRun run = DrillRun.start(NAME, m, restore, clock, record, LOG);
        List<String> findings = run.findings();
        Map<String, String> measured = run.measured();
        Fingerprints expected = m.fingerprints().orElse(null);
        if (expected == null) {
            findings.add("backup " + m.id() + " records no fingerprints: nothing to compare a restore with "
                    + "(take it with PgDumpSource.builder(...).fingerprints(true))");
        }
        // proofs recorded per object cover owners and privileges: restore them, unless told otherwise
        boolean proofs = expected != null && !expected.objects().isEmpty();
        boolean owners = proofs && !ignoreOwnership;
        measured.put("ownership", owners ? "compared" : "ignored");
        DrillSample drawn = null;
        if (sample < 1) {
            if (expected == null) {
                return run.finish();
            }
            drawn = DrillSample.draw(expected, sample, DrillSample.nextRound(restore.repository(), NAME, DrillSample.cycle(sample)));
            measured.putAll(drawn.measurements());
        } else {
            measured.put("coverage", "full");
        }
        try (PostgresInstance db = provider.start()) {
            PostgresRestore.Report report;
            try {
                if (proofs) {
                    createRoles(db, PgFingerprints.referencedRoles(expected));
                }
                PostgresRestore.Builder rb = PostgresRestore.builder(restore, db.endpoint(), DATABASE).jobs(jobs).noOwner(!owners)
                        .tools(tools).workDir(workDir);
                if (drawn != null) {
                    rb.dataOnlyOf(drawn.tables());
                }
                report = rb.build().run(m);
            } catch (StorageException e) {
                if (e.retryable()) {
                    throw e;
                }
                findings.add(e.getMessage());
                return run.finish();
            } catch (BackupException e) {
                findings.add(e.getMessage());
                return run.finish();
            }
            measured.put("rto_ms", Long.toString(report.total().toMillis()));
            measured.put("fetch_ms", Long.toString(report.fetchAndVerify().toMillis()));
            measured.put("load_ms", Long.toString(report.load().toMillis()));
            measured.put("plaintext_bytes", Long.toString(report.plaintextBytes()));
            long verifyStart = System.nanoTime();
            Fingerprints actual = fingerprints(db, expected);
            measured.put("tables", Integer.toString(actual.tables().size()));
            measured.put("rows", Long.toString(actual.totalRows()));
            if (expected != null) {
                findings.addAll(differences(expected, actual, owners, drawn));
            }
            if (amcheck) {
                String problem = amcheck(db);
                measured.put("amcheck", problem == null ? "passed" : "failed");
                if (problem != null) {
                    findings.add(problem);
                }
            } else {
                measured.put("amcheck", "skipped");
            }
            measured.put("verify_ms", Long.toString(Duration.ofNanos(System.nanoTime() - verifyStart).toMillis()));
        }
        return run.finish();
    }

    /**
     * The named differences between the backup and the restore: with ownership ignored both sides
     * lose their owners and privileges, and a sampled restore is compared on its sampled tables
     * (the others exist, empty) and on every schema object.
     */
    static List<String> differences(Fingerprints expected, Fingerprints actual, boolean owners, DrillSample drawn) {
        Fingerprints e = owners ? expected : PgFingerprints.withoutOwnership(expected);
        Fingerprints a = owners ? actual : PgFingerprints.withoutOwnership(actual);
        if (drawn != null) {
            e = drawn.restrict(e);
            a = drawn.restrict(a);
        }
        return e.differencesFrom(a);
    }

    /** Creates the roles the backup's objects name and the server lacks, without login, so owners and grants restore. */
    private static void createRoles(PostgresInstance db, List<String> roles) throws IOException {
        if (roles.isEmpty()) {
            return;
        }
        try (Connection c = db.connect("postgres"); Statement st = c.createStatement()) {
            for (String role : roles) {
                try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ?")) {
                    ps.setString(1, role);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            continue;
                        }
                    }
                }
                st.execute("CREATE ROLE " + PostgresInstance.quoteIdent(role) + " NOLOGIN");
            }
        } catch (SQLException e) {
            throw new IOException("could not create the backup's roles " + roles + " on the drill's server: " + e.getMessage(), e);
        }
    }

    private Fingerprints fingerprints(PostgresInstance db, Fingerprints expected) throws IOException {
        List<Connection> helpers = new ArrayList<>();
        try (Connection c = db.connect(DATABASE)) {
            // COPY-hashed tables cost the server about twice a value hash: the drill's jobs share them
            for (int i = 1; i < jobs; i++) {
                helpers.add(db.connect(DATABASE));
            }
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                return PgFingerprints.compute(c, expected, helpers);
            } finally {
                c.rollback();
            }
        } catch (SQLException e) {
            throw new IOException("could not fingerprint the restored database: " + e.getMessage(), e);
        } finally {
            for (Connection h : helpers) {
                try {
                    h.close();
                } catch (SQLException ignored) {
                    // a session of a throwaway server: nothing depends on its close
                }
            }
        }
    }

    /** Runs pg_amcheck over every relation; returns a finding, or null when it found nothing. */
    private String amcheck(PostgresInstance db) throws IOException {
        Path program = tools.tool("pg_amcheck");
        Path out = Files.createTempFile(workDir, "backstop-amcheck-", ".txt");
        try {
            try (ToolProcess p = ToolProcess.start(program, List.of("--install-missing", "--heapallindexed",
                    "--jobs=" + jobs, "--database=" + DATABASE), db.endpoint(), null, ProcessBuilder.Redirect.to(out.toFile()))) {
                int exit = p.waitFor();
                if (exit == 0) {
                    return null;
                }
                String report = new String(Files.readAllBytes(out), StandardCharsets.UTF_8);
                String tail = report.length() > 2000 ? report.substring(report.length() - 2000) : report;
                return "pg_amcheck exited " + exit + " on the restored database: " + (tail + " " + p.stderrTail()).strip();
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** Builder for {@link RestoreDrill}; every setting has a default. */
    public static final class Builder {
        private final Settings given = new Settings();
        private PostgresProvider provider;
        private PgTools tools = PgTools.locate();
        private int jobs = 2;
        private boolean amcheck = true;
        private boolean record = true;
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private Clock clock = Clock.systemUTC();
        private boolean ignoreOwnership;
        private double sample = 1;

        private Builder() {
        }

        /**
         * Restores without owners and privileges and leaves them out of the comparison, for a
         * drill that must restore as another role. By default (strict) the roles the backup's
         * objects name are created on the throwaway server without login, the restore keeps
         * owners and grants, and a changed owner or privilege is a finding.
         */
        public Builder ignoreOwnershipAndPrivileges() {
            given.once("ignoreOwnershipAndPrivileges");
            this.ignoreOwnership = true;
            return this;
        }

        /**
         * Restores the data of about {@code fraction} of the tables (every schema object is still
         * restored and proven), for databases too large to restore whole each time. Tables fall
         * into {@code ceil(1 / fraction)} fixed groups by a hash of their name; each run takes the
         * group after the one of the newest sampled drill recorded in the repository, so
         * {@code ceil(1 / fraction)} consecutive recorded runs prove every table. Tables that a
         * sampled table's foreign keys reference come along. The record says {@code coverage=sampled}
         * with {@code sample_round}, {@code sample_cycle} and {@code sample_tables}; a sampled pass
         * is never a full proof. Needs a custom or directory dump. Default 1 (everything).
         */
        public Builder sample(double fraction) {
            if (!(fraction > 0 && fraction <= 1)) {
                throw new IllegalArgumentException("sample: got " + fraction + ", must be in (0, 1]");
            }
            given.onceNullable("sample", this.sample, fraction);
            this.sample = fraction;
            return this;
        }

        /** Starts the throwaway servers (default: {@link EphemeralPostgres} with {@link #tools}). */
        public Builder provider(PostgresProvider provider) {
            this.provider = given.once("provider", this.provider, provider);
            return this;
        }

        public Builder tools(PgTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Parallel jobs for pg_restore, the fingerprint check and pg_amcheck (default 2). */
        public Builder jobs(int jobs) {
            if (jobs < 1 || jobs > 64) {
                throw new IllegalArgumentException("jobs: got " + jobs + ", must be 1..64");
            }
            given.onceNullable("jobs", this.jobs, jobs);
            this.jobs = jobs;
            return this;
        }

        /** Whether to run pg_amcheck on the restored database (default true). */
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

        /** Where the verified dump is spooled (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /** The clock stamping results. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        public RestoreDrill build() {
            return new RestoreDrill(this);
        }
    }
}
