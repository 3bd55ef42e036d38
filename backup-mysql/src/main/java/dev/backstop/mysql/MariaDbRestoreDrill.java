package dev.backstop.mysql;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.StorageException;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.Validator;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.validate.DrillRun;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
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
 * Proves a MariaDB/MySQL logical backup restores exactly: restores it into a throwaway server,
 * recomputes {@link MariaDbFingerprints} there, compares them with the ones recorded at the
 * dump's point, runs {@code CHECK TABLE ... EXTENDED} on every table, and measures the recovery
 * time.
 *
 * <pre>{@code
 * ValidationResult r = MariaDbRestoreDrill.builder().build().validate(manifest, restore);
 * if (!r.passed()) alert(r.findings());
 * }</pre>
 *
 * <p><b>Guarantees.</b> Each difference is one finding naming the table (rows or content hash,
 * expected and found) or the schema object (table, view, routine, trigger, event definition);
 * a backup that fails verification before or while it loads is a finding too, as is a load
 * failure or a table {@code CHECK TABLE} does not pass. Measurements: {@code rto_ms} (fetch,
 * verify, load and move), {@code load_ms}, {@code move_ms}, {@code verify_ms}, {@code tables},
 * {@code rows}, {@code plaintext_bytes}, {@code check_table}. Unless turned off, the result is
 * appended to the repository as a validation record. The throwaway server is always stopped and
 * deleted.
 *
 * <p>The throwaway server keeps no binary log of the restore ({@link
 * MariaDbRestore.Builder#writeBinlog}) and, by default, neither a doublewrite buffer nor a redo
 * log flush at commit: it is deleted after the drill, and the comparison is what proves its data.
 *
 * <p><b>Restrictions.</b> Throws only when the drill could not run at all (no server could be
 * started, the repository is unreachable). Users and grants are not in a database dump, so they
 * are neither restored nor compared.
 *
 * <p><b>Threading.</b> Immutable and thread-safe; each run starts its own server.
 */
public final class MariaDbRestoreDrill implements Validator {
    private static final Logger LOG = LoggerFactory.getLogger(MariaDbRestoreDrill.class);
    /** The name recorded with each result. */
    public static final String NAME = "restore-drill";
    private static final String DATABASE = "drill";

    private final MariaDbProvider provider;
    private final MariaDbTools tools;
    private final boolean checkTables;
    private final int jobs;
    private final boolean record;
    private final Path workDir;
    private final Clock clock;

    private MariaDbRestoreDrill(Builder b) {
        this.tools = b.tools;
        // nothing survives a drill's server: no doublewrite buffer, no redo log flush at commit
        this.provider = b.provider != null ? b.provider : EphemeralMariaDb.builder().tools(b.tools)
                .setting("innodb-doublewrite", "0").setting("innodb-flush-log-at-trx-commit", "0")::start;
        this.checkTables = b.checkTables;
        this.jobs = b.jobs;
        this.record = b.record;
        this.workDir = b.workDir;
        this.clock = b.clock;
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
            findings.add("backup " + m.id() + " records no fingerprints: nothing to compare a restore with ("
                    + m.attributes().getOrDefault("mariadb.fingerprints", "no fingerprints attribute") + ")");
        }
        try (MariaDbInstance db = provider.start()) {
            MariaDbRestore.Report report;
            try {
                report = MariaDbRestore.builder(restore, db.endpoint(), DATABASE).tools(tools).workDir(workDir).jobs(jobs)
                        .writeBinlog(false).build().run(m);
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
            measured.put("load_ms", Long.toString(report.fetchVerifyAndLoad().toMillis()));
            measured.put("move_ms", Long.toString(report.move().toMillis()));
            measured.put("plaintext_bytes", Long.toString(report.plaintextBytes()));
            long verifyStart = System.nanoTime();
            try (Connection c = db.connect(DATABASE)) {
                MariaDbFingerprints.Result actual;
                try (Statement st = c.createStatement()) {
                    st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
                    actual = MariaDbFingerprints.computeLike(c, DATABASE, expected);
                    st.execute("ROLLBACK");
                }
                measured.put("tables", Integer.toString(actual.fingerprints().tables().size()));
                measured.put("rows", Long.toString(actual.fingerprints().totalRows()));
                if (expected != null) {
                    Map<String, String> objects = MariaDbFingerprints.objectsOf(m.attributes());
                    for (String d : expected.differencesFrom(actual.fingerprints())) {
                        // per-object findings below name what the single schema hash cannot
                        if (!d.startsWith("schema:") || objects.isEmpty()) {
                            findings.add(d);
                        }
                    }
                    findings.addAll(MariaDbFingerprints.differences(objects, actual.objects()));
                }
                String lossy = m.attributes().getOrDefault(MariaDbDumpSource.LOSSY_FLOAT_ATTRIBUTE, "");
                for (String column : lossy.isEmpty() ? new String[0] : lossy.split(",")) {
                    int dot = column.lastIndexOf('.');
                    findings.add("table " + column.substring(0, dot) + ": FLOAT column " + column.substring(dot + 1)
                            + " holds values mariadb-dump writes with too few digits (6 significant): they restore as other "
                            + "numbers; make the column DOUBLE");
                }
                if (checkTables) {
                    List<String> problems = checkTables(c);
                    measured.put("check_table", problems.isEmpty() ? "passed" : "failed");
                    findings.addAll(problems);
                } else {
                    measured.put("check_table", "skipped");
                }
            } catch (SQLException e) {
                findings.add("could not verify the restored database: " + e.getMessage());
            }
            measured.put("verify_ms", Long.toString(Duration.ofNanos(System.nanoTime() - verifyStart).toMillis()));
        }
        return run.finish();
    }

    private static List<String> checkTables(Connection c) throws SQLException {
        List<String> problems = new ArrayList<>();
        for (String table : MariaDbFingerprints.baseTables(c, DATABASE)) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("CHECK TABLE " + Sql.ident(DATABASE) + "." + Sql.ident(table) + " EXTENDED")) {
                String lastStatus = null;
                while (rs.next()) {
                    String type = rs.getString("Msg_type");
                    String text = rs.getString("Msg_text");
                    if ("error".equalsIgnoreCase(type)) {
                        problems.add("table " + table + ": CHECK TABLE EXTENDED reports " + text);
                    }
                    if ("status".equalsIgnoreCase(type)) {
                        lastStatus = text;
                    }
                }
                if (lastStatus != null && !"OK".equalsIgnoreCase(lastStatus)) {
                    problems.add("table " + table + ": CHECK TABLE EXTENDED status " + lastStatus);
                }
            }
        }
        return problems;
    }

    /** Builder for {@link MariaDbRestoreDrill}; every setting has a default. */
    public static final class Builder {
        private final Settings given = new Settings();
        private MariaDbProvider provider;
        private MariaDbTools tools = MariaDbTools.locate();
        private boolean checkTables = true;
        private int jobs = 2;
        private boolean record = true;
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        /**
         * Starts the throwaway servers (default: {@link EphemeralMariaDb} with {@link #tools},
         * {@code innodb-doublewrite=0} and {@code innodb-flush-log-at-trx-commit=0}); the account
         * needs the privilege to set {@code sql_log_bin}.
         */
        public Builder provider(MariaDbProvider provider) {
            this.provider = given.once("provider", this.provider, provider);
            return this;
        }

        public Builder tools(MariaDbTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Whether to run {@code CHECK TABLE ... EXTENDED} on every restored table (default true). */
        public Builder checkTables(boolean checkTables) {
            given.onceNullable("checkTables", this.checkTables, checkTables);
            this.checkTables = checkTables;
            return this;
        }

        /**
         * How many client sessions the drill's restore loads with (default 2, 1..64), as
         * {@link MariaDbRestore.Builder#jobs}: set it to what a real restore would use, so the
         * recorded RTO is that restore's.
         */
        public Builder jobs(int jobs) {
            if (jobs < 1 || jobs > 64) {
                throw new IllegalArgumentException("jobs: got " + jobs + ", must be 1..64");
            }
            given.onceNullable("jobs", this.jobs, jobs);
            this.jobs = jobs;
            return this;
        }

        /** Whether to append the result to the repository's validation records (default true). */
        public Builder record(boolean record) {
            given.onceNullable("record", this.record, record);
            this.record = record;
            return this;
        }

        /** Where the private option files are written (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /** The clock stamping results. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        public MariaDbRestoreDrill build() {
            return new MariaDbRestoreDrill(this);
        }
    }
}
