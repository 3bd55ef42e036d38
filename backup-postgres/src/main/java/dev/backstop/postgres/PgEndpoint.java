package dev.backstop.postgres;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Objects;
import java.util.Properties;

/**
 * Where a PostgreSQL server listens and whom to connect as: host, port, user and password.
 * Databases are named per call, so one endpoint serves a capture, a restore target and the
 * maintenance database alike.
 *
 * <p><b>Guarantees.</b> The password never appears in {@link #toString()}, in exception
 * messages built by Backstop, or on a command line: tools get it through a temporary pgpass
 * file that is deleted when they exit.
 *
 * <p><b>Restrictions.</b> TCP only (PgJDBC has no Unix-socket support without extra libraries);
 * use {@code 127.0.0.1} for a local server.
 */
public record PgEndpoint(String host, int port, String user, String password) {

    public PgEndpoint {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(user, "user");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host: got an empty string, need a host name or address such as 127.0.0.1");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: got " + port + ", must be 1..65535");
        }
        if (user.isBlank()) {
            throw new IllegalArgumentException("user: got an empty string, need a role name");
        }
    }

    /** An endpoint on {@code host:port} as {@code user}, authenticating with {@code password} (may be null). */
    public static PgEndpoint of(String host, int port, String user, String password) {
        return new PgEndpoint(host, port, user, password);
    }

    /** The JDBC URL of {@code database} on this endpoint; carries no credentials. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/" + database;
    }

    /**
     * Opens a JDBC connection to {@code database}. TLS is not requested; Backstop's own servers
     * listen on loopback only.
     */
    public Connection connect(String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("ApplicationName", "backstop");
        p.setProperty("connectTimeout", "10");
        p.setProperty("sslmode", "prefer");
        return DriverManager.getConnection(jdbcUrl(database), p);
    }

    /** Describes the endpoint without its password. */
    @Override
    public String toString() {
        return "postgresql://" + user + "@" + host + ":" + port + (password == null ? "" : " (password set)");
    }
}
