package dev.backstop.postgres;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A running PostgreSQL server that its owner throws away on {@link #close()}: a restore drill's
 * target, a test's database.
 *
 * <p><b>Guarantees an implementation must give.</b> {@link #endpoint()} connects as a superuser.
 * {@link #close()} stops the server and deletes its data; safe to call twice.
 *
 * <p><b>Threading.</b> Thread-safe.
 */
public interface PostgresInstance extends AutoCloseable {

    /** Where the server listens, as a superuser. */
    PgEndpoint endpoint();

    /** The server's version, such as {@code 15.14}. */
    String version();

    /** Stops the server and deletes its data. */
    @Override
    void close() throws IOException;

    /** Opens a connection to {@code database} as the superuser. */
    default Connection connect(String database) throws SQLException {
        return endpoint().connect(database);
    }

    /** Creates an empty database called {@code name}. */
    default void createDatabase(String name) throws SQLException {
        try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + quoteIdent(name));
        }
    }

    /** {@code name} as a double-quoted SQL identifier. */
    static String quoteIdent(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
