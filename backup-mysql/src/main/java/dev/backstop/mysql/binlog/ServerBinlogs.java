package dev.backstop.mysql.binlog;

import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import dev.backstop.core.log.LogFile;
import dev.backstop.mysql.MariaDbEndpoint;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What a server says about its binary log before the receiver connects: its server id and the
 * files it still has ({@code SHOW BINARY LOGS}), read on one connection.
 *
 * @param serverId {@code @@server_id}
 * @param files    the server's binlog files, oldest first as the server lists them
 */
record ServerBinlogs(long serverId, List<String> files) {

    /**
     * Reads them from {@code endpoint}.
     *
     * @throws BackupException (retryable) if the server cannot be reached, or it lists no file (log_bin off)
     */
    static ServerBinlogs read(MariaDbEndpoint endpoint) {
        try (Connection c = endpoint.connect(null); Statement st = c.createStatement()) {
            long id;
            try (ResultSet rs = st.executeQuery("SELECT @@server_id")) {
                rs.next();
                id = rs.getLong(1);
            }
            List<String> files = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SHOW BINARY LOGS")) {
                while (rs.next()) {
                    files.add(rs.getString(1));
                }
            }
            if (files.isEmpty()) {
                throw new BackupException(Stage.CAPTURE, "SHOW BINARY LOGS on " + endpoint + " returned no file: is log_bin on?",
                        null);
            }
            return new ServerBinlogs(id, List.copyOf(files));
        } catch (SQLException e) {
            throw new BackupException(Stage.CAPTURE, "could not list the binlogs of " + endpoint + ": " + e.getMessage(), e,
                    true, null);
        }
    }

    /** The server's oldest file. */
    String oldest() {
        return files.get(0);
    }

    /** Whether the server still has {@code name}. */
    boolean has(String name) {
        return files.contains(name);
    }

    /** The server's oldest file of base name {@code base}, or null if it has none. */
    String oldestOf(String base) {
        String oldest = null;
        for (String f : files) {
            LogFile lf = parse(f);
            if (lf != null && lf.epoch().equals(base) && (oldest == null || lf.start() < parse(oldest).start())) {
                oldest = f;
            }
        }
        return oldest;
    }

    /** The server's newest file of base name {@code base}, or null if it has none. */
    String newestOf(String base) {
        String newest = null;
        for (String f : files) {
            LogFile lf = parse(f);
            if (lf != null && lf.epoch().equals(base) && (newest == null || lf.start() > parse(newest).start())) {
                newest = f;
            }
        }
        return newest;
    }

    private static LogFile parse(String name) {
        try {
            return BinlogArchive.file(name);
        } catch (IllegalArgumentException e) {
            return null; // a name Backstop cannot archive is not one the receiver follows
        }
    }
}
