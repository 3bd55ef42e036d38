package dev.backstop.postgres;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The TLS settings of a {@link PgEndpoint}: an {@link SslMode}, the root certificate that the
 * server's certificate must chain to, and optionally a client certificate and key. One value
 * configures both ways Backstop talks to PostgreSQL: every JDBC connection (PgJDBC properties
 * {@code sslmode}, {@code sslrootcert}, {@code sslcert}, {@code sslkey}), the WAL receiver's
 * replication connections included, and every PostgreSQL program it runs (libpq environment
 * variables {@code PGSSLMODE}, {@code PGSSLROOTCERT}, {@code PGSSLCERT}, {@code PGSSLKEY}).
 *
 * <pre>{@code
 * PgEndpoint db = PgEndpoint.of("db.internal", 5432, "backup", password)
 *         .withTls(PgTls.verifyFull(Path.of("/etc/backstop/pg-root.crt")));
 * PgEndpoint mutual = db.withTls(PgTls.builder(SslMode.VERIFY_FULL).rootCertificate(ca)
 *         .clientCertificate(Path.of("backup.crt"), Path.of("backup.key")).build());
 * }</pre>
 *
 * <p><b>Default.</b> {@link #prefer()}: TLS when the server offers it, without checking its
 * certificate, plain TCP otherwise. That is libpq's and PgJDBC's own default, made explicit: it
 * encrypts against a passive eavesdropper but does not stop anyone who can answer in the server's
 * place. Only {@link SslMode#VERIFY_FULL} does: the certificate must chain to the configured root
 * certificate and name the host the endpoint connects to.
 *
 * <p><b>Guarantees.</b> Settings reach programs through their environment, never their command
 * line; inherited {@code PGSSLMODE}, {@code PGSSLROOTCERT}, {@code PGSSLCERT}, {@code PGSSLKEY}
 * and {@code PGREQUIRESSL} are replaced, so a program never uses weaker settings than the JDBC
 * connections. Paths are made absolute when built. The files are read by the clients at connect
 * time, never by this class, and their contents never appear in messages.
 *
 * <p><b>Restrictions.</b>
 * <ul>
 *   <li>{@link SslMode#VERIFY_CA} and {@link SslMode#VERIFY_FULL} need an explicit
 *       {@link Builder#rootCertificate root certificate}: Backstop does not rely on
 *       {@code ~/.postgresql/root.crt}, which PgJDBC finds through {@code user.home} and libpq
 *       through {@code HOME}. The file holds one or more PEM certificates.</li>
 *   <li>A root certificate with any other mode is refused: libpq would verify the chain under
 *       {@code require} while PgJDBC would not, so the two clients would disagree.</li>
 *   <li>Without a client certificate, each client falls back to its own default file, if it
 *       exists ({@code ~/.postgresql/postgresql.crt} with {@code postgresql.key} for libpq,
 *       {@code postgresql.pk8} for PgJDBC).</li>
 *   <li>The client key must be readable by both clients: an unencrypted PKCS#8 PEM key
 *       ({@code -----BEGIN PRIVATE KEY-----}, what {@code openssl genpkey} and {@code openssl req
 *       -nodes} write), RSA, EC, Ed25519 or Ed448. PgJDBC 42.7 cannot read PKCS#1
 *       ({@code BEGIN RSA PRIVATE KEY}), SEC1 ({@code BEGIN EC PRIVATE KEY}) or encrypted keys
 *       ({@code openssl pkcs8 -topk8 -nocrypt} converts them); libpq cannot read PgJDBC's DER
 *       {@code .pk8}. libpq refuses a key file that its group or others can read (mode 0600).</li>
 * </ul>
 *
 * <p><b>Threading.</b> Immutable; safe to share.
 */
public final class PgTls {
    private static final PgTls PREFER = new PgTls(SslMode.PREFER, null, null, null);
    private static final String PEM_BEGIN = "-----BEGIN PRIVATE KEY-----";
    private static final String PEM_END = "-----END PRIVATE KEY-----";

    private final SslMode mode;
    private final Path rootCertificate;
    private final Path clientCertificate;
    private final Path clientKey;

    private PgTls(SslMode mode, Path rootCertificate, Path clientCertificate, Path clientKey) {
        this.mode = mode;
        this.rootCertificate = rootCertificate;
        this.clientCertificate = clientCertificate;
        this.clientKey = clientKey;
    }

    /** TLS if offered, unverified, else plain TCP: the default of every {@link PgEndpoint}, and libpq's. */
    public static PgTls prefer() {
        return PREFER;
    }

    /** Plain TCP only. */
    public static PgTls disable() {
        return new PgTls(SslMode.DISABLE, null, null, null);
    }

    /** TLS or no connection, without checking the server's certificate. */
    public static PgTls require() {
        return new PgTls(SslMode.REQUIRE, null, null, null);
    }

    /** TLS; the server's certificate must chain to {@code rootCertificate}; its host name is not checked. */
    public static PgTls verifyCa(Path rootCertificate) {
        return builder(SslMode.VERIFY_CA).rootCertificate(rootCertificate).build();
    }

    /** TLS; the server's certificate must chain to {@code rootCertificate} and name the endpoint's host. */
    public static PgTls verifyFull(Path rootCertificate) {
        return builder(SslMode.VERIFY_FULL).rootCertificate(rootCertificate).build();
    }

    public static Builder builder(SslMode mode) {
        return new Builder(Objects.requireNonNull(mode, "mode"));
    }

    /** A builder holding these settings, to derive others. */
    public Builder toBuilder() {
        Builder b = new Builder(mode);
        b.rootCertificate = rootCertificate;
        b.clientCertificate = clientCertificate;
        b.clientKey = clientKey;
        return b;
    }

    public SslMode mode() {
        return mode;
    }

    /** The file of CA certificates the server's certificate must chain to; present exactly when the mode verifies. */
    public Optional<Path> rootCertificate() {
        return Optional.ofNullable(rootCertificate);
    }

    /** The certificate presented to the server, if configured; {@link #clientKey()} is present with it. */
    public Optional<Path> clientCertificate() {
        return Optional.ofNullable(clientCertificate);
    }

    /** The private key of {@link #clientCertificate()}, if configured. */
    public Optional<Path> clientKey() {
        return Optional.ofNullable(clientKey);
    }

    /**
     * The PgJDBC connection properties for these settings ({@code sslmode} always, the file
     * properties when configured), for a JDBC connection opened outside Backstop. With a client
     * key, reads the key file to learn its algorithm: PgJDBC takes a PEM key for RSA unless
     * {@code pemKeyAlgorithm} says otherwise (EC, Ed25519, Ed448), where libpq needs no hint.
     */
    public Map<String, String> jdbcProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("sslmode", mode.keyword());
        if (rootCertificate != null) {
            p.put("sslrootcert", rootCertificate.toString());
        }
        if (clientCertificate != null) {
            p.put("sslcert", clientCertificate.toString());
            p.put("sslkey", clientKey.toString());
            String algorithm = pemKeyAlgorithm(clientKey);
            if (algorithm != null && !algorithm.equals("RSA")) {
                p.put("pemKeyAlgorithm", algorithm);
            }
        }
        return Map.copyOf(p);
    }

    /**
     * The algorithm of an unencrypted PKCS#8 PEM key, or null for a file that is not one (PgJDBC
     * then reports the unreadable key itself, naming the file).
     */
    static String pemKeyAlgorithm(Path key) {
        byte[] der;
        try {
            String pem = Files.readString(key, StandardCharsets.US_ASCII);
            int begin = pem.indexOf(PEM_BEGIN);
            int end = pem.indexOf(PEM_END);
            if (begin < 0 || end < begin) {
                return null;
            }
            der = Base64.getMimeDecoder().decode(pem.substring(begin + PEM_BEGIN.length(), end));
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
        try {
            for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448")) {
                try {
                    KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
                    return algorithm;
                } catch (GeneralSecurityException e) {
                    // not this algorithm: try the next
                }
            }
            return null;
        } finally {
            Arrays.fill(der, (byte) 0);
        }
    }

    /**
     * The libpq environment variables for these settings ({@code PGSSLMODE} always, the file
     * variables when configured): what Backstop puts into the environment of the PostgreSQL
     * programs it runs, for a program started outside Backstop.
     */
    public Map<String, String> libpqEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PGSSLMODE", mode.keyword());
        if (rootCertificate != null) {
            env.put("PGSSLROOTCERT", rootCertificate.toString());
        }
        if (clientCertificate != null) {
            env.put("PGSSLCERT", clientCertificate.toString());
            env.put("PGSSLKEY", clientKey.toString());
        }
        return Map.copyOf(env);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PgTls t && mode == t.mode && Objects.equals(rootCertificate, t.rootCertificate)
                && Objects.equals(clientCertificate, t.clientCertificate) && Objects.equals(clientKey, t.clientKey);
    }

    @Override
    public int hashCode() {
        return Objects.hash(mode, rootCertificate, clientCertificate, clientKey);
    }

    /** The settings in libpq's words, e.g. {@code sslmode=verify-full sslrootcert=/etc/ca.crt}; paths only, never file contents. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("sslmode=").append(mode.keyword());
        if (rootCertificate != null) {
            s.append(" sslrootcert=").append(rootCertificate);
        }
        if (clientCertificate != null) {
            s.append(" sslcert=").append(clientCertificate).append(" sslkey=").append(clientKey);
        }
        return s.toString();
    }

    /** Builder for {@link PgTls}; each setting may be given once. */
    public static final class Builder {
        private final SslMode mode;
        private Path rootCertificate;
        private Path clientCertificate;
        private Path clientKey;

        private Builder(SslMode mode) {
            this.mode = mode;
        }

        /**
         * The PEM file of CA certificates the server's certificate must chain to; required by,
         * and only allowed with, {@link SslMode#VERIFY_CA} and {@link SslMode#VERIFY_FULL}.
         */
        public Builder rootCertificate(Path file) {
            Objects.requireNonNull(file, "file");
            if (rootCertificate != null) {
                throw new IllegalStateException("rootCertificate: already set to " + rootCertificate + ", given again " + file);
            }
            rootCertificate = file.toAbsolutePath().normalize();
            return this;
        }

        /**
         * The certificate (PEM) to present to a server that asks for one ({@code clientcert} or
         * {@code cert} authentication in {@code pg_hba.conf}) and its private key (see the class
         * restrictions for the key's format). Not allowed with {@link SslMode#DISABLE}.
         */
        public Builder clientCertificate(Path certificate, Path key) {
            Objects.requireNonNull(certificate, "certificate");
            Objects.requireNonNull(key, "key");
            if (clientCertificate != null) {
                throw new IllegalStateException("clientCertificate: already set to " + clientCertificate + ", given again "
                        + certificate);
            }
            clientCertificate = certificate.toAbsolutePath().normalize();
            clientKey = key.toAbsolutePath().normalize();
            return this;
        }

        /**
         * The settings.
         *
         * @throws IllegalArgumentException if a verifying mode has no root certificate, another
         *         mode has one, or {@link SslMode#DISABLE} has a client certificate
         */
        public PgTls build() {
            if (mode.verifiesServer() && rootCertificate == null) {
                throw new IllegalArgumentException("rootCertificate: sslmode=" + mode.keyword() + " needs the file of CA "
                        + "certificates that signed the server's certificate; Backstop does not fall back to "
                        + "~/.postgresql/root.crt");
            }
            if (!mode.verifiesServer() && rootCertificate != null) {
                throw new IllegalArgumentException("rootCertificate: got " + rootCertificate + " with sslmode=" + mode.keyword()
                        + ", which does not check the server's certificate; use verify-ca or verify-full to check it");
            }
            if (mode == SslMode.DISABLE && clientCertificate != null) {
                throw new IllegalArgumentException("clientCertificate: got " + clientCertificate
                        + " with sslmode=disable, which never uses TLS; use a mode from allow to verify-full");
            }
            if (mode == SslMode.PREFER && clientCertificate == null) {
                return PREFER;
            }
            return new PgTls(mode, rootCertificate, clientCertificate, clientKey);
        }
    }
}
