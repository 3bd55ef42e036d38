package dev.backstop.mysql.physical;

import dev.backstop.core.Digest;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.TableFingerprint;
import dev.backstop.mysql.MariaDbFingerprints;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Fingerprints of several databases of one server as one {@link Fingerprints}: tables keyed
 * {@code <database>.<table>}, and a schema hash over each database's schema hash. The backup
 * source and the physical drill compute them the same way, so equal data gives equal values.
 */
final class ServerFingerprints {
    private ServerFingerprints() {
    }

    /** The fingerprints of {@code databases}, read inside the connection's current transaction. */
    static Fingerprints compute(Connection c, List<String> databases) throws SQLException {
        Map<String, TableFingerprint> tables = new TreeMap<>();
        StringBuilder schemas = new StringBuilder();
        for (String database : databases) {
            MariaDbFingerprints.Result r = MariaDbFingerprints.compute(c, database);
            r.fingerprints().tables().forEach((t, f) -> tables.put(database + "." + t, f));
            schemas.append(database).append('=').append(r.fingerprints().schemaHash()).append('\n');
        }
        String schemaHash = "sha256:" + Digest.sha256(schemas.toString().getBytes(StandardCharsets.UTF_8)).hex();
        return new Fingerprints(schemaHash, tables);
    }

    /**
     * Starts a read-only consistent snapshot on {@code c} and returns the binlog coordinates
     * MariaDB reports for it ({@code binlog_snapshot_file}, {@code binlog_snapshot_position}), as
     * {@code file:position}.
     */
    static String startSnapshot(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
            String file = null;
            String position = null;
            try (ResultSet rs = st.executeQuery("SHOW STATUS LIKE 'binlog_snapshot_%'")) {
                while (rs.next()) {
                    if ("binlog_snapshot_file".equalsIgnoreCase(rs.getString(1))) {
                        file = rs.getString(2);
                    } else if ("binlog_snapshot_position".equalsIgnoreCase(rs.getString(1))) {
                        position = rs.getString(2);
                    }
                }
            }
            return file + ":" + position;
        }
    }

    static String ident(String name) {
        return "`" + name.replace("`", "``") + "`";
    }
}
