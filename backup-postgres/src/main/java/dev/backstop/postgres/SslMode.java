package dev.backstop.postgres;

/**
 * How a connection to PostgreSQL uses TLS: libpq's {@code sslmode}, with the same names and the
 * same meaning for Backstop's JDBC connections (PgJDBC) and for the PostgreSQL programs it runs
 * (libpq). Only {@link #VERIFY_FULL} protects against a server that impersonates the real one;
 * see {@link PgTls}.
 */
public enum SslMode {
    /** Plain TCP only; a server that demands TLS refuses the connection. */
    DISABLE("disable"),
    /** Plain TCP first; TLS, unverified, only if the server refuses plain TCP. */
    ALLOW("allow"),
    /** TLS if the server offers it, unverified; plain TCP otherwise. libpq's and PgJDBC's default. */
    PREFER("prefer"),
    /** TLS or no connection; the server's certificate is not checked, so an impostor is not detected. */
    REQUIRE("require"),
    /** TLS, and the server's certificate must chain to the configured root certificate; its host name is not checked. */
    VERIFY_CA("verify-ca"),
    /**
     * TLS, the server's certificate must chain to the configured root certificate and name the
     * host connected to (a DNS name for a host name, an IP address entry for an address).
     */
    VERIFY_FULL("verify-full");

    private final String keyword;

    SslMode(String keyword) {
        this.keyword = keyword;
    }

    /** The value libpq and PgJDBC take for {@code sslmode}, e.g. {@code verify-full}. */
    public String keyword() {
        return keyword;
    }

    /** Whether the server's certificate is checked against a root certificate ({@link #VERIFY_CA}, {@link #VERIFY_FULL}). */
    public boolean verifiesServer() {
        return this == VERIFY_CA || this == VERIFY_FULL;
    }
}
