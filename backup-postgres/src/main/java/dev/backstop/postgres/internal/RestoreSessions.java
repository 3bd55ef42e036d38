package dev.backstop.postgres.internal;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Sessions to the database being restored for statements run without {@code pg_restore}, set up
 * as {@code pg_restore} sets up its own (empty search path, no timeouts, row security off,
 * standard strings), so a statement of the dump means here what it means there. Each statement
 * commits on its own. Sessions are opened as needed and reused; one that failed is closed.
 * {@link #close()} closes them all. Thread-safe.
 */
public final class RestoreSessions implements AutoCloseable {
    /** Opens a session to the database being restored. */
    public interface Connector {
        Connection connect() throws SQLException;
    }

    private static final List<String> SETUP = List.of("SET statement_timeout = 0", "SET lock_timeout = 0",
            "SET idle_in_transaction_session_timeout = 0", "SET client_encoding = 'UTF8'", "SET standard_conforming_strings = on",
            "SELECT pg_catalog.set_config('search_path', '', false)", "SET check_function_bodies = false",
            "SET xmloption = content", "SET client_min_messages = warning", "SET row_security = off");

    private final Connector connector;
    private final ConcurrentLinkedQueue<Connection> idle = new ConcurrentLinkedQueue<>();
    private final List<Connection> opened = new ArrayList<>();
    private boolean closed;

    public RestoreSessions(Connector connector) {
        this.connector = connector;
    }

    /** Runs {@code sql}; a failure names the statement and the server's message and SQLSTATE. */
    public void execute(String sql) throws IOException {
        Connection c = idle.poll();
        try {
            if (c == null) {
                c = open();
            }
            try (Statement st = c.createStatement()) {
                st.execute(sql);
            }
            idle.add(c);
        } catch (SQLException e) {
            if (c != null) {
                closeQuietly(c);
            }
            throw new IOException("\"" + sql + "\" failed: " + e.getMessage() + " (SQLSTATE " + e.getSQLState() + ")", e);
        }
    }

    private Connection open() throws SQLException {
        Connection c = connector.connect();
        synchronized (opened) {
            if (closed) {
                closeQuietly(c);
                throw new SQLException("the restore's sessions are closed");
            }
            opened.add(c);
        }
        try (Statement st = c.createStatement()) {
            for (String s : SETUP) {
                st.execute(s);
            }
        } catch (SQLException e) {
            closeQuietly(c);
            throw e;
        }
        return c;
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException ignored) {
            // a session that failed: nothing of the restore depends on closing it cleanly
        }
    }

    @Override
    public void close() {
        synchronized (opened) {
            closed = true;
            opened.forEach(RestoreSessions::closeQuietly);
            opened.clear();
        }
        idle.clear();
    }
}
