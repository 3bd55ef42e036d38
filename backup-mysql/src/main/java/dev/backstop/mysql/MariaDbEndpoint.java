package dev.backstop.mysql;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Objects;
import java.util.Properties;

/**
 * Where a MariaDB or MySQL server listens and whom to connect as. Databases are named per call,
 * so one endpoint serves a capture, a restore target and administration alike.
 *
 * <p><b>Guarantees.</b> The password never appears in {@link #toString()}, in messages built by
 * Backstop, on a command line or in a process environment: the command-line tools get it through
 * a private option file (an option file) deleted when they exit.
 *
 * <p><b>Restrictions.</b> TCP only; TLS is not requested ({@code sslMode=disable}), so use it on
 * loopback or a trusted network, or put a TLS-terminating tunnel in front.
 */
public record MariaDbEndpoint(String host, int port, String user, String password) {

    public MariaDbEndpoint {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(user, "user");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host: got an empty string, need a host name or address such as 127.0.0.1");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: got " + port + ", must be 1..65535");
        }
        if (user.isBlank()) {
            throw new IllegalArgumentException("user: got an empty string, need an account name");
        }
    }

    /** An endpoint on {@code host:port} as {@code user}, authenticating with {@code password} (may be null). */
    public static MariaDbEndpoint of(String host, int port, String user, String password) {
        return new MariaDbEndpoint(host, port, user, password);
    }

    /** The JDBC URL of {@code database} (empty for none) on this endpoint; carries no credentials. */
    public String jdbcUrl(String database) {
        return "jdbc:mariadb://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/"
                + (database == null ? "" : database) + "?sslMode=disable&connectTimeout=10000";
    }

    /** Opens a connection to {@code database}, or to no database when it is null. */
    public Connection connect(String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        return DriverManager.getConnection(jdbcUrl(database), p);
    }

    /** Describes the endpoint without its password. */
    @Override
    public String toString() {
        return "mariadb://" + user + "@" + host + ":" + port + (password == null ? "" : " (password set)");
    }
}
