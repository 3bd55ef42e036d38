package dev.backstop.postgres.physical;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.Stage;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.wal.WalFile;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One attempt at a restore point whose fingerprints are exact: per database a locking session
 * holds SHARE locks on every user table (writers wait; readers do not) while a reading session
 * takes its REPEATABLE READ snapshot; then {@code pg_create_restore_point} writes the point, the
 * locks go, and the fingerprints are computed in the snapshots at leisure. Every write to those
 * tables committed before the snapshot and none after it until the point, so the snapshot and the
 * point show the same rows. The reading session holds ACCESS SHARE locks from before its snapshot,
 * so no table it will read can be dropped or rewritten under it.
 */
final class PointCapture implements AutoCloseable {
    /** Tables per LOCK statement: keeps statements short on clusters with many tables. */
    private static final int LOCK_BATCH = 200;
    private static final String TABLES = "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
            + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND c.relpersistence = 'p' "
            + "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1";

    /** Thrown when the set of tables changed before the point was written: nothing was created, try again. */
    static final class Changed extends Exception {
        private static final long serialVersionUID = 1L;

        Changed(String message) {
            super(message, null, false, false);
        }
    }

    private record Session(String database, Connection locker, Connection reader, List<String> tables) {
    }

    private final List<Session> sessions = new ArrayList<>();

    private PointCapture() {
    }

    /**
     * Locks, snapshots, writes restore point {@code name} and fingerprints each database.
     *
     * @return the point's LSN and the fingerprints per database
     * @throws Changed if a table was created or dropped before the point was written (retry)
     */
    static Map.Entry<Long, Map<String, Fingerprints>> take(PgEndpoint endpoint, List<String> databases, String name,
            Duration lockTimeout) throws SQLException, Changed {
        try (PointCapture capture = new PointCapture()) {
            for (String db : databases) {
                capture.open(endpoint, db, lockTimeout);
            }
            for (Session s : capture.sessions) {
                try (Statement st = s.reader.createStatement()) {
                    st.executeQuery("SELECT 1").close(); // the snapshot: every locked table quiet
                }
            }
            for (Session s : capture.sessions) {
                List<String> now = tables(s.locker);
                if (!now.equals(s.tables)) {
                    throw new Changed("database " + s.database + ": tables were created or dropped while they were being locked");
                }
            }
            long lsn;
            try (PreparedStatement ps = capture.sessions.get(0).locker.prepareStatement(
                    "SELECT pg_catalog.pg_create_restore_point(?)::text")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    lsn = WalFile.parseLsn(rs.getString(1));
                }
            }
            for (Session s : capture.sessions) {
                if (!tables(s.locker).equals(s.tables)) {
                    // the point is in the WAL, but which side of it the new table falls on is unknown
                    throw new BackupException(Stage.CAPTURE, "restore point '" + name + "' was written at "
                            + WalFile.formatLsn(lsn) + ", but tables of database " + s.database + " were created or dropped "
                            + "just before it, so its fingerprints would not be exact; it is not recorded: take another "
                            + "with a new name", null, true, null);
                }
            }
            for (Session s : capture.sessions) {
                s.locker.commit(); // writers go on; the readers keep their snapshots
            }
            Map<String, Fingerprints> prints = new LinkedHashMap<>();
            for (Session s : capture.sessions) {
                prints.put(s.database, PointPrints.take(s.reader, null));
                s.reader.rollback();
            }
            return Map.entry(lsn, prints);
        }
    }

    private void open(PgEndpoint endpoint, String db, Duration lockTimeout) throws SQLException {
        Connection reader = endpoint.connect(db);
        Connection locker;
        try {
            locker = endpoint.connect(db);
        } catch (SQLException e) {
            reader.close();
            throw e;
        }
        List<String> tables;
        try {
            reader.setAutoCommit(false);
            reader.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            locker.setAutoCommit(false);
            String timeout = "SET LOCAL lock_timeout = '" + Math.max(1, lockTimeout.toMillis()) + "ms'";
            try (Statement st = locker.createStatement()) {
                st.execute(timeout);
            }
            tables = tables(locker);
            // LOCK takes no snapshot: the reader's snapshot comes with its first query, after every lock
            try (Statement st = reader.createStatement()) {
                st.execute(timeout);
            }
            lock(reader, tables, "ACCESS SHARE");
            lock(locker, tables, "SHARE");
        } catch (SQLException e) {
            reader.close();
            locker.close();
            throw e;
        }
        sessions.add(new Session(db, locker, reader, tables));
    }

    private static List<String> tables(Connection c) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(TABLES)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static void lock(Connection c, List<String> tables, String mode) throws SQLException {
        try (Statement st = c.createStatement()) {
            for (int i = 0; i < tables.size(); i += LOCK_BATCH) {
                st.execute("LOCK TABLE " + String.join(", ", tables.subList(i, Math.min(tables.size(), i + LOCK_BATCH)))
                        + " IN " + mode + " MODE");
            }
        }
    }

    @Override
    public void close() throws SQLException {
        SQLException first = null;
        for (Session s : sessions) {
            for (Connection c : List.of(s.locker, s.reader)) {
                try {
                    c.close(); // an open transaction rolls back: the locks go with it
                } catch (SQLException e) {
                    if (first == null) {
                        first = e;
                    }
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
