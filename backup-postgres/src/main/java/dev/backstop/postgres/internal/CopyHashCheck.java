package dev.backstop.postgres.internal;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.postgresql.PGConnection;

/**
 * The check side of stream fingerprints: COPYs tables as pg_dump does (the columns it copies, not
 * dropped and not generated, in attnum order, with {@code extra_float_digits} 3) and runs the text
 * through a {@link CopyLineHash} as it arrives, never holding a table. Tables are spread over the
 * main session and helper sessions, largest first; the helpers import the main session's snapshot
 * so all see one instant. Each session must already have the other output settings pinned
 * ({@code setup} is run on each helper after it joined the snapshot). Never closes a session;
 * helpers are left with their transaction rolled back.
 */
public final class CopyHashCheck {
    /** A table to hash: {@code qualified} quoted for SQL, {@code bytes} its size, to start with the largest. */
    public record Target(String name, String qualified, long oid, long bytes) {
    }

    /** What {@link CopyHashCheck} does to a helper session once it shares the snapshot. */
    @FunctionalInterface
    public interface Setup {
        void accept(Connection c) throws SQLException;
    }

    private final ConcurrentLinkedQueue<Target> left;
    private final Map<String, CopyHashTap.Table> done = new ConcurrentHashMap<>();
    private final AtomicReference<SQLException> failure = new AtomicReference<>();

    private CopyHashCheck(List<Target> targets) {
        List<Target> bySize = new ArrayList<>(targets);
        bySize.sort(Comparator.comparingLong(Target::bytes).reversed());
        this.left = new ConcurrentLinkedQueue<>(bySize);
    }

    /** Hashes {@code targets} on {@code c} (inside its open transaction) and the {@code helpers}, keyed by name. */
    public static Map<String, CopyHashTap.Table> run(Connection c, List<Connection> helpers, Setup setup, List<Target> targets)
            throws SQLException {
        return new CopyHashCheck(targets).run(c, helpers, setup);
    }

    private Map<String, CopyHashTap.Table> run(Connection c, List<Connection> helpers, Setup setup) throws SQLException {
        List<Thread> threads = new ArrayList<>();
        DaemonThreads threadFactory = DaemonThreads.numbered("backstop-fingerprints");
        List<Connection> joined = new ArrayList<>();
        try {
            if (!helpers.isEmpty() && left.size() > 1) {
                String snapshot;
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_export_snapshot()")) {
                    rs.next();
                    snapshot = rs.getString(1);
                }
                for (Connection h : helpers) {
                    h.setAutoCommit(false);
                    h.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                    joined.add(h);
                    try (Statement st = h.createStatement()) {
                        st.execute("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
                    }
                    setup.accept(h);
                }
            }
            for (int i = 0; i < joined.size(); i++) {
                Connection h = joined.get(i);
                Thread t = threadFactory.start(() -> work(h));
                threads.add(t);
            }
            work(c);
            for (Thread t : threads) {
                t.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            left.clear();
            failure.compareAndSet(null, new SQLException("interrupted while fingerprinting", e));
        } finally {
            for (Connection h : joined) {
                try {
                    h.rollback();
                } catch (SQLException e) {
                    failure.compareAndSet(null, e);
                }
            }
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        return Map.copyOf(done);
    }

    private void work(Connection c) {
        for (Target t = left.poll(); t != null && failure.get() == null; t = left.poll()) {
            try {
                done.put(t.name(), hash(c, t));
            } catch (SQLException e) {
                failure.compareAndSet(null, e);
            }
        }
    }

    private static CopyHashTap.Table hash(Connection c, Target t) throws SQLException {
        String copied = c.getMetaData().getDatabaseMajorVersion() >= 12 ? " AND attgenerated = ''" : "";
        StringBuilder columns = new StringBuilder();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_catalog.quote_ident(attname) "
                + "FROM pg_catalog.pg_attribute WHERE attrelid = " + t.oid() + " AND attnum > 0 AND NOT attisdropped"
                + copied + " ORDER BY attnum")) {
            while (rs.next()) {
                columns.append(columns.length() == 0 ? " (" : ", ").append(rs.getString(1));
            }
        }
        // no column list for a table without columns, as pg_dump: its rows are empty lines
        if (columns.length() > 0) {
            columns.append(')');
        }
        CopyLineHash h = new CopyLineHash();
        try (Statement st = c.createStatement()) {
            // pg_dump's own setting; the server-side text hashes keep 1, which differs from 3 before PostgreSQL 12
            st.execute("SET LOCAL extra_float_digits = 3");
            c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY " + t.qualified() + columns + " TO STDOUT", h);
            st.execute("SET LOCAL extra_float_digits = 1");
        } catch (IOException e) {
            throw new SQLException("COPY of " + t.qualified() + " failed: " + e.getMessage(), e);
        }
        h.close();
        return new CopyHashTap.Table(h.rows(), h.sum());
    }
}
