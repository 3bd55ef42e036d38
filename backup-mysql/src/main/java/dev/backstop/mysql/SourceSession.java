package dev.backstop.mysql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The statements a capture runs in its own sessions on the source: server facts, the engine
 * check, the fingerprint session's consistent snapshot and its binlog position, and the optional
 * brief global read lock.
 */
final class SourceSession {
    private SourceSession() {
    }

    /** A session holding {@code FLUSH TABLES WITH READ LOCK}: no transaction commits while it is held. */
    static Connection globalReadLock(MariaDbEndpoint endpoint, String database) throws SQLException {
        Connection l = endpoint.connect(database);
        try (Statement st = l.createStatement()) {
            // a long statement elsewhere must not make every writer wait behind this lock for long
            st.execute("SET SESSION lock_wait_timeout = 10");
            st.execute("FLUSH TABLES WITH READ LOCK");
            return l;
        } catch (SQLException e) {
            l.close();
            throw new SQLException("could not take the brief global read lock (FLUSH TABLES WITH READ LOCK needs the RELOAD "
                    + "privilege and no long-running statement): " + e.getMessage(), e.getSQLState(), e.getErrorCode(), e);
        }
    }

    static void unlock(Connection l) {
        try (l; Statement st = l.createStatement()) {
            st.execute("UNLOCK TABLES");
        } catch (SQLException ignored) {
            // closing the session releases the lock as well
        }
    }


    /** Opens the fingerprint session's snapshot and returns the binlog position MariaDB reports for it. */
    static DumpComments.Position startSnapshot(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
            String file = null;
            long pos = -1;
            try (ResultSet rs = st.executeQuery("SHOW STATUS LIKE 'binlog_snapshot_%'")) {
                while (rs.next()) {
                    if ("Binlog_snapshot_file".equalsIgnoreCase(rs.getString(1))) {
                        file = rs.getString(2);
                    } else if ("Binlog_snapshot_position".equalsIgnoreCase(rs.getString(1))) {
                        pos = Long.parseLong(rs.getString(2));
                    }
                }
            }
            if (file == null || pos < 0) {
                throw new SQLException("the server reports no Binlog_snapshot_file/position for a consistent snapshot");
            }
            return new DumpComments.Position(file, pos);
        }
    }

    static void rollback(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("ROLLBACK");
        }
    }

    /** What a capture records about the server and the database. */
    record Facts(String version, boolean logBin, String serverId, String timestamp, String charset, String collation) {
    }

    static Facts facts(Connection c, String database) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT VERSION(), @@log_bin, @@server_id, "
                + "DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ'), s.DEFAULT_CHARACTER_SET_NAME, s.DEFAULT_COLLATION_NAME "
                + "FROM information_schema.SCHEMATA s WHERE s.SCHEMA_NAME = ?")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("database '" + database + "' is not visible in information_schema.SCHEMATA", "42000", 1049);
                }
                return new Facts(rs.getString(1), rs.getInt(2) == 1, rs.getString(3), rs.getString(4), rs.getString(5),
                        rs.getString(6));
            }
        }
    }

    /** Base tables of engines other than InnoDB, as {@code name (engine)}. */
    static List<String> nonTransactionalTables(Connection c, String database) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES "
                + "WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') "
                + "AND (ENGINE IS NULL OR UPPER(ENGINE) <> 'INNODB') ORDER BY TABLE_NAME")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1) + " (" + (rs.getString(2) == null ? "unknown engine" : rs.getString(2)) + ")");
                }
            }
        }
        return out;
    }
}
