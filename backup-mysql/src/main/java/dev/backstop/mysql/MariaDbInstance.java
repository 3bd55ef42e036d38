package dev.backstop.mysql;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A running MariaDB or MySQL server that its owner throws away on {@link #close()}: a restore
 * drill's target, a test's database.
 *
 * <p><b>Guarantees an implementation must give.</b> {@link #endpoint()} connects as an account
 * holding every privilege. {@link #close()} stops the server and deletes its data; safe to call
 * twice.
 *
 * <p><b>Threading.</b> Thread-safe.
 */
public interface MariaDbInstance extends AutoCloseable {

    /** Where the server listens, as an account with every privilege. */
    MariaDbEndpoint endpoint();

    /** The server's version as {@code SELECT VERSION()} reports it. */
    String version();

    /** Stops the server and deletes its data. */
    @Override
    void close() throws IOException;

    /** Opens a connection to {@code database} (null for none). */
    default Connection connect(String database) throws SQLException {
        return endpoint().connect(database);
    }

    /** Creates an empty database called {@code name}. */
    default void createDatabase(String name) throws SQLException {
        try (Connection c = connect(null); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + Sql.ident(name));
        }
    }
}
