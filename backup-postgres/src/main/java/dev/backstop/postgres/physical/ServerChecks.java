package dev.backstop.postgres.physical;

import dev.backstop.core.CaptureFailedException;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.wal.WalFile;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link DataDirectorySource} checks before it starts a backup, each failure naming the
 * setting, the value given and what is needed: a server (primary or standby) with 16 MiB WAL segments, a role
 * allowed to run the backup functions and create a replication slot, and a directory that is
 * the server's own data directory.
 */
final class ServerChecks {
    private ServerChecks() {
    }

    static void check(Connection c, PgEndpoint endpoint, int version, Path dataDirectory, String systemId)
            throws SQLException, CaptureFailedException {
        String start = version >= 150000 ? "pg_catalog.pg_backup_start(text, boolean)" : "pg_catalog.pg_start_backup(text, boolean, boolean)";
        String stop = version >= 150000 ? "pg_catalog.pg_backup_stop(boolean)" : "pg_catalog.pg_stop_backup(boolean, boolean)";
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user, r.rolsuper, r.rolreplication, has_function_privilege('" + start
                     + "', 'EXECUTE'), has_function_privilege('" + stop + "', 'EXECUTE'), pg_catalog.pg_is_in_recovery(), "
                     + "(SELECT setting::bigint * CASE unit WHEN '8kB' THEN 8192 WHEN 'MB' THEN 1048576 ELSE 1 END "
                     + "FROM pg_catalog.pg_settings WHERE name = 'wal_segment_size') "
                     + "FROM pg_catalog.pg_roles r WHERE r.rolname = current_user")) {
            rs.next();
            String role = rs.getString(1);
            List<String> missing = new ArrayList<>();
            if (!rs.getBoolean(2) && !rs.getBoolean(3)) {
                missing.add("the REPLICATION attribute (for the temporary slot that keeps the backup's WAL): ALTER ROLE "
                        + role + " REPLICATION");
            }
            if (!rs.getBoolean(4)) {
                missing.add("EXECUTE on " + start + ": GRANT EXECUTE ON FUNCTION " + start + " TO " + role);
            }
            if (!rs.getBoolean(5)) {
                missing.add("EXECUTE on " + stop + ": GRANT EXECUTE ON FUNCTION " + stop + " TO " + role);
            }
            if (!missing.isEmpty()) {
                throw new CaptureFailedException("endpoint: role " + role + " at " + endpoint + " cannot take a physical backup; it lacks "
                        + String.join("; and ", missing), null, null, null);
            }
            if (rs.getLong(7) != WalFile.SEGMENT_BYTES) {
                throw new CaptureFailedException("endpoint: " + endpoint + " has wal_segment_size " + rs.getLong(7)
                        + " bytes; Backstop supports " + WalFile.SEGMENT_BYTES + " (16 MiB) only", null, null, null);
            }
        }
        checkDirectory(c, endpoint, dataDirectory, systemId);
    }

    private static void checkDirectory(Connection c, PgEndpoint endpoint, Path dataDirectory, String systemId)
            throws CaptureFailedException {
        long onDisk;
        try {
            onDisk = DataDirectorySource.controlFileSystemId(dataDirectory);
        } catch (NoSuchFileException e) {
            throw new CaptureFailedException("dataDirectory: got " + dataDirectory + ", which has no global/pg_control; need the "
                    + "data directory of the cluster at " + endpoint + " (system identifier " + systemId + ")", null, null, e);
        } catch (AccessDeniedException e) {
            throw new CaptureFailedException("dataDirectory: got " + dataDirectory + ", whose global/pg_control this process ("
                    + System.getProperty("user.name") + ") may not read; run as the server's OS user or a member of its "
                    + "group (initdb -g)", null, null, e);
        } catch (IOException e) {
            throw new CaptureFailedException("dataDirectory: got " + dataDirectory + ", whose global/pg_control could not be read: "
                    + e.getMessage(), null, null, e);
        }
        if (!Long.toUnsignedString(onDisk).equals(systemId)) {
            throw new CaptureFailedException("dataDirectory: got " + dataDirectory + ", whose pg_control has system identifier "
                    + Long.toUnsignedString(onDisk) + ", but the cluster at " + endpoint + " is system " + systemId
                    + "; need the data directory of that cluster", null, null, null);
        }
        String served;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW data_directory")) {
            rs.next();
            served = rs.getString(1);
        } catch (SQLException e) {
            return; // needs superuser or pg_read_all_settings; the system identifier already matched
        }
        boolean other;
        try {
            Path server = Path.of(served);
            other = Files.exists(server) && !Files.isSameFile(server, dataDirectory);
        } catch (IOException | java.nio.file.InvalidPathException e) {
            other = false; // the server's path does not resolve here (another mount namespace): the system identifier decides
        }
        if (other) {
            throw new CaptureFailedException("dataDirectory: got " + dataDirectory + ", but the server at " + endpoint
                    + " runs from " + served + " (same system identifier " + systemId + ": a copy of the cluster?); need "
                    + "the directory the server uses", null, null, null);
        }
    }
}
