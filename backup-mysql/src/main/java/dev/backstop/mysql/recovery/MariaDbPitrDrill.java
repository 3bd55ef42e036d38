package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.Restore;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.Validator;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.validate.DrillRun;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Proves a backup and the binlog archive recover a server to an exact earlier state: recovers the
 * backup in a throwaway server to a {@link RecoveryCheckpoint}'s binlog position ({@link
 * BinlogRecovery#recover}), fingerprints the recovered databases, compares them with the ones
 * the checkpoint took on the source at that position, and runs {@code CHECK TABLE ... EXTENDED}
 * on every table.
 *
 * <pre>{@code
 * RecoveryCheckpoints.builder(source, repository.withKeys(kek), archive).build().record("before-release-42");
 * ValidationResult r = MariaDbPitrDrill.builder(archive, "before-release-42").build().validate(backup, restore);
 * }</pre>
 *
 * <p><b>What a passed drill proves.</b> The backup restored (verified end to end), every binlog
 * from its point to the checkpoint was archived without a gap, verified on fetch, and replayed
 * in one session, and the result equals the source at the checkpoint table by table (rows and
 * content hash) and object by object (definitions), and {@code CHECK TABLE ... EXTENDED} passed
 * on every table of the compared databases. It does not prove other databases (a logical
 * backup holds one: only that one is compared), users and grants, or transactions after the
 * checkpoint. Each difference is a finding naming the table or object; a refused recovery (a
 * gap, another server's archive, a checkpoint before the backup) is a finding naming the file
 * or point. Measurements: {@code rto_ms} (fetch, restore and replay), {@code fetch_ms}, {@code
 * restore_ms}, {@code replay_ms}, {@code transactions}, {@code binlog_bytes}, {@code
 * recovered_to} and {@code gtid} (where the replay stopped), {@code checkpoint}, {@code tables},
 * {@code rows}, {@code fingerprints}, {@code check_table}. Unless turned off, the result is
 * appended to the repository as a validation record. The throwaway server is always stopped and
 * deleted.
 *
 * <p>A checkpoint named rather than given is read from the restore's repository when the drill
 * runs ({@link RecoveryCheckpoints#read}): in a keyed view its record is authenticated for its own
 * key, so the fingerprints compared are the ones a KEK holder recorded for that name and server; a
 * missing, edited or moved record is a finding naming its key, and nothing is recovered.
 *
 * <p><b>Restrictions.</b> The checkpoint must be of the backup's server, taken after the backup's
 * point. Throws only when the drill could not run at all (the repository is unreachable).
 *
 * <p><b>Threading.</b> Immutable and thread-safe; each run starts its own server.
 */
public final class MariaDbPitrDrill implements Validator {
    /** The name recorded with each result. */
    public static final String NAME = "pitr-drill";

    private final BinlogArchive archive;
    private final RecoveryCheckpoint checkpoint;
    private final String checkpointName;
    private final MariaDbTools tools;
    private final Path workDir;
    private final boolean record;
    private final Clock clock;

    private MariaDbPitrDrill(Builder b) {
        this.archive = b.archive;
        this.checkpoint = b.checkpoint;
        this.checkpointName = b.checkpointName;
        this.tools = b.tools;
        this.workDir = b.workDir;
        this.record = b.record;
        this.clock = b.clock;
    }

    /** A drill recovering backups with {@code archive} to {@code checkpoint}. */
    public static Builder builder(BinlogArchive archive, RecoveryCheckpoint checkpoint) {
        return new Builder(archive, Objects.requireNonNull(checkpoint, "checkpoint"), null);
    }

    /**
     * A drill recovering backups with {@code archive} to the checkpoint recorded as {@code name}
     * ({@link RecoveryCheckpoints}), read from the restore's repository when the drill runs: a name
     * never recorded, or a record that is not authentic or was moved from another name or server,
     * is a finding naming its key.
     *
     * @throws IllegalArgumentException if {@code name} cannot be a checkpoint's name
     */
    public static Builder builder(BinlogArchive archive, String name) {
        RecoveryCheckpoints.keyOf(archive, name);
        return new Builder(archive, null, name);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public ValidationResult validate(Manifest m, Restore restore) throws IOException {
        DrillRun run = DrillRun.start(NAME, m, restore, clock, record, null);
        List<String> findings = run.findings();
        Map<String, String> measured = run.measured();
        RecoveryCheckpoint checkpoint = checkpoint(restore, findings);
        if (checkpoint == null) {
            return run.finish();
        }
        measured.put("checkpoint", checkpoint.file() + ":" + checkpoint.position());
        List<String> databases = comparedDatabases(checkpoint, m, findings);
        if (databases.isEmpty()) {
            return run.finish();
        }
        BinlogRecovery recovery = BinlogRecovery.builder(restore, archive).tools(tools).workDir(workDir).build();
        BinlogRecovery.Recovered r;
        try {
            r = recovery.recover(m, checkpoint.target());
        } catch (BackupException e) {
            if (e.retryable()) {
                throw e;
            }
            findings.add(e.getMessage());
            return run.finish();
        }
        try (r) {
            RecoveryReport report = r.report();
            measured.put("rto_ms", Long.toString(report.total().toMillis()));
            measured.put("fetch_ms", Long.toString(report.fetch().toMillis()));
            measured.put("restore_ms", Long.toString(report.restore().toMillis()));
            measured.put("replay_ms", Long.toString(report.replay().toMillis()));
            measured.put("transactions", Long.toString(report.transactions()));
            measured.put("binlog_bytes", Long.toString(report.binlogBytes()));
            measured.put("recovered_to", report.reached().file() + ":" + report.reached().position());
            measured.put("gtid", report.reached().gtid());
            try (Connection c = r.server().connect(null)) {
                compare(c, checkpoint, databases, findings, measured);
                checkTables(c, databases, findings, measured);
            } catch (SQLException e) {
                findings.add("could not read the recovered server: " + e.getMessage());
            }
        }
        return run.finish();
    }

    /** The checkpoint given, or the one recorded under its name; null (with a finding) if there is none to use. */
    private RecoveryCheckpoint checkpoint(Restore restore, List<String> findings) {
        if (checkpoint != null) {
            return checkpoint;
        }
        try {
            Optional<RecoveryCheckpoint> recorded = RecoveryCheckpoints.read(restore.repository(), archive, checkpointName);
            if (recorded.isEmpty()) {
                findings.add("no " + RecoveryCheckpoints.WHAT + " '" + checkpointName + "' is recorded for " + archive.stream()
                        + " (" + RecoveryCheckpoints.keyOf(archive, checkpointName) + " does not exist)");
            }
            return recorded.orElse(null);
        } catch (BackupException e) {
            if (e.retryable()) {
                throw e;
            }
            findings.add(e.getMessage());
            return null;
        }
    }

    /** The checkpoint's databases the backup holds: all for a physical backup, its one database for a logical one. */
    private List<String> comparedDatabases(RecoveryCheckpoint checkpoint, Manifest m, List<String> findings) {
        String id = m.consistency().properties().get("server_id");
        if (!Long.toString(checkpoint.serverId()).equals(id)) {
            findings.add("checkpoint " + checkpoint + " is of server id " + checkpoint.serverId() + ", backup " + m.id()
                    + " of server id " + id + ": nothing to compare");
            return List.of();
        }
        String database = m.attributes().get("mariadb.database");
        if (database == null) {
            return checkpoint.databaseNames();
        }
        if (!checkpoint.databases().containsKey(database)) {
            findings.add("checkpoint " + checkpoint + " holds no fingerprints of database " + database + ", the one backup "
                    + m.id() + " holds");
            return List.of();
        }
        return List.of(database);
    }

    private static void compare(Connection c, RecoveryCheckpoint checkpoint, List<String> databases, List<String> findings,
                                Map<String, String> measured) throws SQLException {
        Fingerprints actual;
        try (Statement st = c.createStatement()) {
            st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
            actual = RecoveryCheckpoint.fingerprints(c, databases);
            st.execute("ROLLBACK");
        }
        Fingerprints expected = only(checkpoint.fingerprints(), databases);
        findings.addAll(expected.differencesFrom(actual));
        measured.put("fingerprints", "compared");
        measured.put("tables", Integer.toString(actual.tables().size()));
        measured.put("rows", Long.toString(actual.totalRows()));
    }

    /** The part of {@code all} that belongs to {@code databases} (objects are compared one by one, not by the schema hash). */
    private static Fingerprints only(Fingerprints all, List<String> databases) {
        Map<String, TableFingerprint> tables = new TreeMap<>();
        all.tables().forEach((k, v) -> {
            if (databases.contains(k.substring(0, k.indexOf('.')))) {
                tables.put(k, v);
            }
        });
        Map<String, String> objects = new TreeMap<>();
        all.objects().forEach((k, v) -> {
            String name = k.substring(k.indexOf(' ') + 1);
            if (databases.contains(name.substring(0, name.indexOf('.')))) {
                objects.put(k, v);
            }
        });
        return new Fingerprints(all.schemaHash(), tables, objects);
    }

    private static void checkTables(Connection c, List<String> databases, List<String> findings, Map<String, String> measured)
            throws SQLException {
        boolean passed = true;
        for (String database : databases) {
            List<String> tables = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? "
                    + "AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY 1")) {
                ps.setString(1, database);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        tables.add(rs.getString(1));
                    }
                }
            }
            for (String t : tables) {
                try (Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("CHECK TABLE " + ident(database) + "." + ident(t) + " EXTENDED")) {
                    while (rs.next()) {
                        String type = rs.getString("Msg_type");
                        String text = rs.getString("Msg_text");
                        if ("error".equalsIgnoreCase(type) || ("status".equalsIgnoreCase(type) && !"OK".equalsIgnoreCase(text))) {
                            findings.add("table " + database + "." + t + ": CHECK TABLE EXTENDED reports " + type + " " + text);
                            passed = false;
                        }
                    }
                }
            }
        }
        measured.put("check_table", passed ? "passed" : "failed");
    }

    private static String ident(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    /**
     * Builder for {@link MariaDbPitrDrill}; every setting but the archive and the checkpoint (or its
     * name) has a default; a setting given twice is refused.
     */
    public static final class Builder {
        private final Settings given = new Settings();
        private final BinlogArchive archive;
        private final RecoveryCheckpoint checkpoint;
        private final String checkpointName;
        private MariaDbTools tools = MariaDbTools.locate();
        private Path workDir = Path.of(System.getProperty("java.io.tmpdir"));
        private boolean record = true;
        private Clock clock = Clock.systemUTC();

        private Builder(BinlogArchive archive, RecoveryCheckpoint checkpoint, String checkpointName) {
            this.archive = Objects.requireNonNull(archive, "archive");
            this.checkpoint = checkpoint;
            this.checkpointName = checkpointName;
        }

        /** Where the MariaDB programs are found ({@link MariaDbTools#locate()} by default). */
        public Builder tools(MariaDbTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Where the binlogs and the throwaway server go (default {@code java.io.tmpdir}). */
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

        public MariaDbPitrDrill build() {
            return new MariaDbPitrDrill(this);
        }
    }
}
