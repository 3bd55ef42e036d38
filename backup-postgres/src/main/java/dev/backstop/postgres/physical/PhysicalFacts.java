package dev.backstop.postgres.physical;

import static dev.backstop.postgres.physical.BaseBackupSource.START_LSN;
import static dev.backstop.postgres.physical.BaseBackupSource.START_TIME;
import static dev.backstop.postgres.physical.BaseBackupSource.START_WAL_FILE;
import static dev.backstop.postgres.physical.BaseBackupSource.STOP_LSN;
import static dev.backstop.postgres.physical.BaseBackupSource.SYSTEM_IDENTIFIER;
import static dev.backstop.postgres.physical.BaseBackupSource.TIMELINE;

import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.ConsistencyPoint;
import dev.backstop.core.LogRange;
import dev.backstop.core.SourceInfo;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.internal.ServerFailures;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What both physical sources learn about a cluster and record about a backup, in one place so
 * that a {@link BaseBackupSource} and a {@link DataDirectorySource} backup of the same cluster
 * carry the same consistency keys, log range and attributes.
 */
final class PhysicalFacts {
    private static final Pattern LABEL_START = Pattern.compile("START WAL LOCATION: ([0-9A-Fa-f]+/[0-9A-Fa-f]+) \\(file ([0-9A-F]{24})\\)");
    private static final Pattern LABEL_TLI = Pattern.compile("START TIMELINE: (\\d+)");
    private static final Pattern LABEL_TIME = Pattern.compile("START TIME: (.+)");

    /** Where the backup was taken: {@code primary}, or {@code standby} (a server in recovery). */
    static final String BACKUP_FROM = "backup_from";

    private PhysicalFacts() {
    }

    /**
     * Refuses a cluster with tablespaces besides pg_default and pg_global (naming them), then
     * reads the system identifier, server version and cluster size. Keys: {@code
     * system_identifier}, {@code server_version}, {@code server_version_num}, {@code cluster_size},
     * {@code backup_from} ({@code primary} or {@code standby}).
     */
    static Map<String, String> inspect(PgEndpoint endpoint, String sourceName) throws CaptureFailedException {
        try (Connection c = endpoint.connect("postgres")) {
            return inspect(c, endpoint, sourceName);
        } catch (SQLException e) {
            throw new CaptureFailedException("could not inspect the cluster at " + endpoint + ": " + e.getMessage()
                    + " (SQLSTATE " + e.getSQLState() + ")", null, null, e, ServerFailures.retryable(e));
        }
    }

    /** As {@link #inspect(PgEndpoint, String)} on an open connection, which stays open. */
    static Map<String, String> inspect(Connection c, PgEndpoint endpoint, String sourceName) throws SQLException,
            CaptureFailedException {
        try (Statement st = c.createStatement()) {
            List<String> spaces = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT spcname, pg_catalog.pg_tablespace_location(oid) FROM pg_catalog.pg_tablespace "
                    + "WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY spcname")) {
                while (rs.next()) {
                    spaces.add(rs.getString(1) + " at " + rs.getString(2));
                }
            }
            if (!spaces.isEmpty()) {
                throw new CaptureFailedException("cluster at " + endpoint + " has tablespaces besides pg_default and pg_global ("
                        + String.join(", ", spaces) + "); " + sourceName + " supports only the data directory: move their "
                        + "objects to pg_default or back them up with PgDumpSource", null, null, null);
            }
            Map<String, String> out = new LinkedHashMap<>();
            try (ResultSet rs = st.executeQuery("SELECT s.system_identifier, current_setting('server_version'), "
                    + "current_setting('server_version_num'), (SELECT sum(pg_catalog.pg_database_size(oid)) FROM pg_catalog.pg_database), "
                    + "pg_catalog.pg_is_in_recovery() FROM pg_catalog.pg_control_system() s")) {
                rs.next();
                out.put(SYSTEM_IDENTIFIER, Long.toUnsignedString(rs.getLong(1)));
                out.put("server_version", rs.getString(2).split(" ")[0]);
                out.put("server_version_num", rs.getString(3));
                out.put("cluster_size", rs.getString(4));
                out.put(BACKUP_FROM, rs.getBoolean(5) ? "standby" : "primary");
            }
            return out;
        }
    }

    /**
     * The consistency point of a backup from its {@code backup_label} (start LSN, start WAL file,
     * timeline, start time) and its stop LSN; {@code origin} names where the label came from in
     * the message when it cannot be read.
     */
    static Map<String, String> point(String systemId, String label, String stopLsn, String origin) throws CaptureFailedException {
        Matcher start = LABEL_START.matcher(label);
        Matcher tli = LABEL_TLI.matcher(label);
        if (!start.find() || !tli.find()) {
            throw new CaptureFailedException(origin + " has no readable backup_label (got "
                    + (label.isEmpty() ? "none" : "'" + label.strip() + "'") + "); cannot record where the backup starts", null, null, null);
        }
        Map<String, String> out = new LinkedHashMap<>();
        out.put(SYSTEM_IDENTIFIER, systemId);
        out.put(TIMELINE, tli.group(1));
        out.put(START_LSN, start.group(1));
        out.put(STOP_LSN, stopLsn);
        out.put(START_WAL_FILE, start.group(2));
        Matcher time = LABEL_TIME.matcher(label);
        if (time.find()) {
            out.put(START_TIME, time.group(1).strip());
        }
        return out;
    }

    /** The capture result both sources return; {@code capture} names the source in {@code postgresql.capture}. */
    static CaptureResult result(PgEndpoint endpoint, Map<String, String> facts, Map<String, String> point, long tarBytes,
            int tarEntries, String capture) {
        long start = WalFile.parseLsn(point.get(START_LSN));
        long stop = WalFile.parseLsn(point.get(STOP_LSN));
        long sysid = Long.parseUnsignedLong(facts.get(SYSTEM_IDENTIFIER));
        return CaptureResult.builder(new SourceInfo("postgresql", facts.get("server_version"),
                        Map.of(SYSTEM_IDENTIFIER, facts.get(SYSTEM_IDENTIFIER), "host", endpoint.host() + ":" + endpoint.port())))
                .consistency(ConsistencyPoint.of(point))
                .requiredLogs(new LogRange(WalArchive.streamOf(sysid), start, Math.max(start, stop)))
                .attribute("postgresql.server_version_num", facts.get("server_version_num"))
                .attribute("postgresql.cluster_size_bytes", facts.get("cluster_size"))
                .attribute("postgresql.tar_bytes", Long.toString(tarBytes))
                .attribute("postgresql.tar_entries", Integer.toString(tarEntries))
                .attribute("postgresql.capture", capture)
                .attribute("postgresql.backup_from", facts.getOrDefault(BACKUP_FROM, "primary"))
                .build();
    }

    /** A backup_label label as both sources' builders accept it: 1..1023 characters on one line. */
    static String checkedLabel(String label) {
        if (label == null || label.isBlank() || label.length() > 1023 || label.contains("\n")) {
            throw new IllegalArgumentException("label: got '" + label + "', need 1..1023 characters on one line");
        }
        return label;
    }
}
