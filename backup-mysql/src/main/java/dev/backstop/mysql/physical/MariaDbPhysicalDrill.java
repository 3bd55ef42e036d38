package dev.backstop.mysql.physical;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.Validator;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.validate.DrillRun;
import dev.backstop.mysql.MariaDbTools;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proves a physical MariaDB backup restores: restores it into a throwaway server ({@link
 * MariaDbPhysicalRestore#start}), then checks and reads every table, and compares fingerprints
 * where the backup recorded exact ones.
 *
 * <pre>{@code
 * ValidationResult r = MariaDbPhysicalDrill.builder().build().validate(manifest, restore);
 * }</pre>
 *
 * <p><b>What a passed drill proves.</b> Always: the stored stream verified end to end, its
 * xbstream extracted whole, {@code --prepare} applied the redo log, a server started on the copy,
 * {@code CHECK TABLE} passed on every table of every user database, and every table could be
 * read (its rows counted). The recovery time is measured ({@code rto_ms}: fetch, verify, extract,
 * prepare and start; also {@code extract_ms}, {@code prepare_ms}, {@code start_ms}), and {@code
 * tables}, {@code rows} and {@code check_table} are reported. When the backup holds fingerprints
 * (the source was quiet at the backup's binlog position, see {@link MariaDbBackupSource}), the
 * restored databases' fingerprints are also compared with them ({@code fingerprints=compared}):
 * then the restored data is proven equal, table by table, to the source at that position. A busy
 * source's backup has none ({@code fingerprints=not-recorded}): its content is then proven only
 * as far as InnoDB's own checks go, and an exact comparison needs a recovery to a point where
 * fingerprints were taken. Every problem is a finding naming the table or the step; the throwaway
 * server is always stopped and deleted. Unless turned off, the result is appended to the
 * repository as a validation record.
 *
 * <p><b>Restrictions.</b> Throws only when the drill could not run at all (the repository is
 * unreachable). {@code CHECK TABLE} reads every index of every table: the drill takes a while
 * on a large server.
 *
 * <p><b>Threading.</b> Immutable and thread-safe; each run starts its own server.
 */
public final class MariaDbPhysicalDrill implements Validator {
    private static final Logger LOG = LoggerFactory.getLogger(MariaDbPhysicalDrill.class);
    /** The name recorded with each result. */
    public static final String NAME = "physical-restore-drill";
    private static final List<String> SYSTEM = List.of("mysql", "information_schema", "performance_schema", "sys");

    private final MariaDbTools tools;
    private final Path workDir;
    private final boolean record;
    private final Clock clock;

    private MariaDbPhysicalDrill(Builder b) {
        this.tools = b.tools;
        this.workDir = b.workDir;
        this.record = b.record;
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
        MariaDbPhysicalRestore.Started s;
        try {
            s = MariaDbPhysicalRestore.builder(restore).tools(tools).workDir(workDir).build().start(m);
        } catch (BackupException e) {
            if (e.retryable()) {
                throw e;
            }
            findings.add(e.getMessage());
            return run.finish();
        }
        try (s) {
            MariaDbPhysicalRestore.Report report = s.report();
            measured.put("rto_ms", Long.toString(report.total().toMillis()));
            measured.put("extract_ms", Long.toString(report.fetchAndExtract().toMillis()));
            measured.put("prepare_ms", Long.toString(report.prepare().toMillis()));
            measured.put("start_ms", Long.toString(report.place().toMillis()));
            measured.put("stream_bytes", Long.toString(report.streamBytes()));
            try (Connection c = s.server().connect(null)) {
                inspect(c, findings, measured);
                compare(m, c, findings, measured);
            } catch (SQLException e) {
                findings.add("could not read the restored server: " + e.getMessage());
            }
        }
        return run.finish();
    }

    private static void inspect(Connection c, List<String> findings, Map<String, String> measured) throws SQLException {
        List<String[]> tables = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT TABLE_SCHEMA, TABLE_NAME FROM "
                + "information_schema.TABLES WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY 1, 2")) {
            while (rs.next()) {
                if (!SYSTEM.contains(rs.getString(1))) {
                    tables.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
        }
        long rows = 0;
        boolean checked = true;
        for (String[] t : tables) {
            String name = ServerFingerprints.ident(t[0]) + "." + ServerFingerprints.ident(t[1]);
            String shown = t[0] + "." + t[1];
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("CHECK TABLE " + name)) {
                while (rs.next()) {
                    String type = rs.getString("Msg_type");
                    String text = rs.getString("Msg_text");
                    if ("error".equalsIgnoreCase(type) || ("status".equalsIgnoreCase(type) && !"OK".equalsIgnoreCase(text))) {
                        findings.add("table " + shown + ": CHECK TABLE reports " + type + " " + text);
                        checked = false;
                    }
                }
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM " + name)) {
                rs.next();
                rows += rs.getLong(1);
            } catch (SQLException e) {
                findings.add("table " + shown + ": unreadable: " + e.getMessage());
            }
        }
        measured.put("tables", Integer.toString(tables.size()));
        measured.put("rows", Long.toString(rows));
        measured.put("check_table", checked ? "passed" : "failed");
    }

    private static void compare(Manifest m, Connection c, List<String> findings, Map<String, String> measured)
            throws SQLException {
        Fingerprints expected = m.fingerprints().orElse(null);
        String databases = m.attributes().getOrDefault("mariadb.fingerprint_databases", "");
        if (expected == null || databases.isEmpty()) {
            measured.put("fingerprints", "not-recorded");
            return;
        }
        Fingerprints actual;
        try (Statement st = c.createStatement()) {
            ServerFingerprints.startSnapshot(c);
            actual = ServerFingerprints.compute(c, Arrays.asList(databases.split(",")));
            st.execute("ROLLBACK");
        }
        findings.addAll(expected.differencesFrom(actual));
        measured.put("fingerprints", "compared");
    }

    /** Builder for {@link MariaDbPhysicalDrill}; every setting has a default; a setting given twice is refused. */
    public static final class Builder {
        private final Settings given = new Settings();
        private MariaDbTools tools = MariaDbTools.locate();
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private boolean record = true;
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        public Builder tools(MariaDbTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Where the restored copy and its throwaway server live (default {@code java.io.tmpdir}). */
        public Builder workDir(Path workDir) {
            this.workDir = given.once("workDir", this.workDir, workDir);
            return this;
        }

        /** Whether to append the result to the repository's validation records (default true). */
        public Builder record(boolean record) {
            this.record = given.once("record", this.record, record);
            return this;
        }

        /** The clock stamping results. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        public MariaDbPhysicalDrill build() {
            return new MariaDbPhysicalDrill(this);
        }
    }
}
