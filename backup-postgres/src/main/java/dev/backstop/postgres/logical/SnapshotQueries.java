package dev.backstop.postgres.logical;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a {@link PgDumpSource} asks the server inside its REPEATABLE READ transaction: the facts it
 * records about the database, and the snapshot it exports for {@code pg_dump --snapshot}.
 */
final class SnapshotQueries {
    private SnapshotQueries() {
    }

    /** Server version, database size, encoding and locale of the connection's database. */
    static Map<String, String> facts(Connection c) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT current_setting('server_version_num'), current_setting('server_version'), "
                        + "pg_catalog.pg_database_size(pg_catalog.current_database()), "
                        + "pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype "
                        + "FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()")) {
            rs.next();
            out.put("server_version_num", rs.getString(1));
            out.put("server_version", rs.getString(2).split(" ")[0]);
            out.put("database_size", rs.getString(3));
            out.put("encoding", rs.getString(4));
            out.put("lc_collate", rs.getString(5));
            out.put("lc_ctype", rs.getString(6));
        }
        return out;
    }

    /** Exports the transaction's snapshot and records where in history it stands. */
    static Map<String, String> snapshot(Connection c) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT pg_catalog.pg_export_snapshot(), pg_catalog.pg_current_snapshot()::text, "
                        + "CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn() "
                        + "ELSE pg_catalog.pg_current_wal_lsn() END::text, "
                        + "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")) {
            rs.next();
            out.put("snapshot_id", rs.getString(1));
            out.put("snapshot", rs.getString(2));
            out.put("lsn", rs.getString(3));
            out.put("timestamp", rs.getString(4));
        }
        return out;
    }
}
