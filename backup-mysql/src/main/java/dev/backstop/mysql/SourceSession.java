package dev.backstop.mysql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The statements a capture runs in its own session on the source: server facts, the engine
 * check and the check for FLOAT values a dump cannot carry.
 */
final class SourceSession {
    private SourceSession() {
    }

    /**
     * The FLOAT columns ({@code table.column}) holding a value that does not survive its own text:
     * {@code mariadb-dump} writes FLOAT with 6 significant digits, so such a value would restore as
     * another number. Scans only tables with FLOAT columns, each until its first such value.
     */
    static List<String> lossyFloatColumns(Connection c, String database) throws SQLException {
        List<String[]> columns = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c "
                + "JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
                + "WHERE c.TABLE_SCHEMA = ? AND c.DATA_TYPE = 'float' AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') "
                + "ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    columns.add(new String[] {rs.getString(1), rs.getString(2)});
                }
            }
        }
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement()) {
            for (String[] col : columns) {
                String v = Sql.ident(col[1]);
                try (ResultSet rs = st.executeQuery("SELECT 1 FROM " + Sql.ident(database) + "." + Sql.ident(col[0])
                        + " WHERE NOT (CAST(CAST(" + v + " AS CHAR) AS FLOAT) <=> " + v + ") LIMIT 1")) {
                    if (rs.next()) {
                        out.add(col[0] + "." + col[1]);
                    }
                }
            }
        }
        return out;
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
