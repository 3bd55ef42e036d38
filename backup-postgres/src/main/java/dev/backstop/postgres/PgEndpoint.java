package dev.backstop.postgres;

import java.security.GeneralSecurityException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Objects;
import java.util.Properties;
import javax.net.ssl.SSLException;

/**
 * Where a PostgreSQL server listens, whom to connect as and how to secure the connection: host,
 * port, user, password and {@link PgTls TLS settings}. Databases are named per call, so one
 * endpoint serves a capture, a restore target and the maintenance database alike.
 *
 * <pre>{@code
 * PgEndpoint db = PgEndpoint.of("db.internal", 5432, "backup", password)
 *         .withTls(PgTls.verifyFull(Path.of("/etc/backstop/pg-root.crt")));
 * }</pre>
 *
 * <p><b>Guarantees.</b> The password never appears in {@link #toString()}, in exception
 * messages built by Backstop, or on a command line: tools get it through a temporary pgpass
 * file that is deleted when they exit. The TLS settings apply to every connection Backstop makes
 * to this endpoint: JDBC ({@link #connect}, {@link #connectForReplication}) and the PostgreSQL
 * programs it runs (through their environment, see {@link PgTls}). A connection that fails
 * because of TLS (no TLS on the server, a certificate that does not chain to the root
 * certificate or does not name the host, an unreadable file) fails with a message that names
 * the endpoint's TLS settings.
 *
 * <p><b>Default.</b> {@link PgTls#prefer()}, libpq's own default: encrypted when the server
 * offers TLS, but the server is not authenticated. Use {@link PgTls#verifyFull} where the
 * network between Backstop and the server is not trusted.
 *
 * <p><b>Restrictions.</b> TCP only (PgJDBC has no Unix-socket support without extra libraries);
 * use {@code 127.0.0.1} for a local server. With {@link SslMode#VERIFY_FULL} the host must be a
 * name or address that the server's certificate holds.
 */
public record PgEndpoint(String host, int port, String user, String password, PgTls tls) {

    public PgEndpoint {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(tls, "tls");
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

    /** An endpoint with the default TLS settings, {@link PgTls#prefer()}. */
    public PgEndpoint(String host, int port, String user, String password) {
        this(host, port, user, password, PgTls.prefer());
    }

    /**
     * An endpoint on {@code host:port} as {@code user}, authenticating with {@code password} (may
     * be null), with the default TLS settings, {@link PgTls#prefer()}.
     */
    public static PgEndpoint of(String host, int port, String user, String password) {
        return new PgEndpoint(host, port, user, password);
    }

    /** The JDBC URL of {@code database} on this endpoint; carries no credentials. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/" + database;
    }

    /** This endpoint with {@code tls} instead of its TLS settings. */
    public PgEndpoint withTls(PgTls tls) {
        return new PgEndpoint(host, port, user, password, tls);
    }

    /** This endpoint on another host name or address (the one the server's certificate holds, say). */
    public PgEndpoint withHost(String host) {
        return new PgEndpoint(host, port, user, password, tls);
    }

    /**
     * Opens a JDBC connection to {@code database} with this endpoint's TLS settings.
     *
     * @throws SQLException as PgJDBC reports it; a failure caused by TLS carries a message that
     *         names the TLS settings, with the driver's exception as its cause
     */
    public Connection connect(String database) throws SQLException {
        Properties p = properties("backstop");
        return open(jdbcUrl(database), p);
    }

    /**
     * Opens a physical replication connection (PgJDBC's {@code replication=true}, simple query
     * mode) with this endpoint's TLS settings, for {@code IDENTIFY_SYSTEM}, slots and streaming.
     *
     * @param applicationName what the server shows in {@code pg_stat_replication}, or null
     * @throws SQLException as for {@link #connect}
     */
    public Connection connectForReplication(String applicationName) throws SQLException {
        Properties p = properties(applicationName);
        p.setProperty("replication", "true");
        p.setProperty("assumeMinServerVersion", "10");
        p.setProperty("preferQueryMode", "simple");
        return open(jdbcUrl("postgres"), p);
    }

    private Properties properties(String applicationName) {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        if (applicationName != null) {
            p.setProperty("ApplicationName", applicationName);
        }
        p.setProperty("connectTimeout", "10");
        p.putAll(tls.jdbcProperties());
        return p;
    }

    private Connection open(String url, Properties p) throws SQLException {
        try {
            return DriverManager.getConnection(url, p);
        } catch (SQLException e) {
            String hint = tlsHint(e);
            if (hint == null) {
                throw e;
            }
            // the SQLSTATE stays the driver's, so callers that classify connection failures still can
            throw new SQLException("TLS connection to " + host + ":" + port + " failed with " + tls + ": " + hint
                    + " (" + e.getMessage() + ")", e.getSQLState(), e);
        }
    }

    /** What a TLS failure means for the user, or null if {@code e} is not one. */
    private String tlsHint(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (m.contains("does not support SSL")) {
                return "the server does not offer TLS (ssl=off in its configuration)";
            }
            if (m.contains("no pg_hba.conf entry") && m.contains("no encryption")) {
                return "the server accepts this connection only over TLS";
            }
            if (m.contains("requires a valid client certificate")) {
                return "the server asks for a client certificate that chains to its CA; configure one with "
                        + "PgTls.Builder.clientCertificate";
            }
            if (m.contains("certificate authentication failed")) {
                return "the client certificate " + tls.clientCertificate().orElse(null) + " does not name role '" + user + "'";
            }
            if (m.contains("could not be verified by hostnameverifier")) {
                return "the server's certificate does not name host '" + host + "'; connect by a name or address the "
                        + "certificate holds";
            }
            if (t instanceof CertPathValidatorException || t instanceof CertPathBuilderException || m.contains("PKIX path")) {
                return "the server's certificate does not chain to the root certificate " + tls.rootCertificate().orElse(null);
            }
            if (m.contains("SSL root certificate")) {
                return "cannot read the root certificate " + tls.rootCertificate().orElse(null);
            }
            if (m.contains("SSL key file") || m.contains("private key") || m.contains("key manager")) {
                return "cannot use the client key " + tls.clientKey().orElse(null) + "; it must be an unencrypted PKCS#8 PEM "
                        + "key (-----BEGIN PRIVATE KEY-----), e.g. converted with openssl pkcs8 -topk8 -nocrypt";
            }
            if (m.contains("SSL certificate file") || m.contains("cert chain")) {
                return "cannot read the client certificate " + tls.clientCertificate().orElse(null);
            }
            if (t instanceof SSLException || t instanceof GeneralSecurityException || m.startsWith("SSL error")) {
                return "TLS handshake failed";
            }
        }
        return null;
    }

    /** Describes the endpoint and its TLS settings unless they are the default, without its password. */
    @Override
    public String toString() {
        return "postgresql://" + user + "@" + host + ":" + port + (tls.equals(PgTls.prefer()) ? "" : " (" + tls + ")")
                + (password == null ? "" : " (password set)");
    }
}
