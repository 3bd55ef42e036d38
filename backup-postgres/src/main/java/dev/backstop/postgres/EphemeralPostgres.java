package dev.backstop.postgres;

import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.postgres.internal.WorkDirs;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway PostgreSQL server from the machine's own binaries: {@code initdb} into a temporary
 * directory, a random free loopback port, the Unix socket in that directory, password (SCRAM)
 * authentication for a superuser called {@code postgres}, durability switched off for speed.
 *
 * <pre>{@code
 * try (EphemeralPostgres pg = EphemeralPostgres.start()) {
 *     pg.createDatabase("shop");
 *     try (Connection c = pg.connect("shop")) { ... }
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> {@link #close()} stops the server (fast shutdown) and deletes the
 * directory; a JVM shutdown hook does the same for instances never closed. Nothing listens on
 * anything but 127.0.0.1 and the private socket directory. With {@link Builder#tls} the server
 * accepts TCP connections over TLS only, and its {@link #endpoint()} requires TLS
 * ({@link PgTls#require()}; verifying the certificate is the caller's choice, by
 * {@link PgEndpoint#withTls}).
 *
 * <p><b>Restrictions.</b> {@code initdb} refuses to run as root; when the JVM runs as root, the
 * server programs run as an unprivileged OS user ({@code postgres} by default, see
 * {@link Builder#runAs}) through {@code setpriv}, and the directory is handed to that user.
 * Clients (pg_dump, psql) still run as the JVM's user and connect over TCP.
 *
 * <p><b>Threading.</b> Thread-safe.
 */
public final class EphemeralPostgres implements PostgresInstance {
    private final Path dir;
    private final Path data;
    private final List<String> asUser;
    private final PgTools tools;
    private final Process server;
    private final PgEndpoint endpoint;
    private final String version;
    private final Thread shutdownHook;
    private boolean closed;

    EphemeralPostgres(Path dir, List<String> asUser, PgTools tools, Process server, PgEndpoint endpoint,
                      String version) {
        this.dir = dir;
        this.data = dir.resolve("data");
        this.asUser = asUser;
        this.tools = tools;
        this.server = server;
        this.endpoint = endpoint;
        this.version = version;
        this.shutdownHook = DaemonThreads.named("backstop-ephemeral-postgres-cleanup").newThread(this::closeQuietly);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts a server with the defaults.
     *
     * @throws BackupException if the server could not be created or did not start
     */
    public static EphemeralPostgres start() {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A provider starting servers with the defaults and {@code tools}. */
    public static PostgresProvider provider(PgTools tools) {
        return builder().tools(tools)::start;
    }

    @Override
    public PgEndpoint endpoint() {
        return endpoint;
    }

    @Override
    public String version() {
        return version;
    }

    /** Whether the server process still runs (a recovering server exits when it cannot reach its target). */
    public boolean isAlive() {
        return server.isAlive();
    }

    /** The directory holding the data directory, the socket and the server log. */
    public Path directory() {
        return dir;
    }

    /**
     * Stops the server the way a crash would (immediate shutdown, no checkpoint); connections
     * break at once. The data stays until {@link #close()}.
     *
     * @throws BackupException at {@link Stage#RESTORE} if {@code pg_ctl stop} cannot be run
     */
    public void kill() {
        try {
            ctl("stop", "-m", "immediate");
        } catch (IOException e) {
            throw new BackupException(Stage.RESTORE, "could not stop PostgreSQL in " + dir + ": " + e.getMessage(), e);
        }
        try {
            server.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.destroyForcibly();
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // already shutting down: the hook is what is calling us
        }
        try {
            if (server.isAlive()) {
                try {
                    ctl("stop", "-m", "fast");
                } catch (IOException e) {
                    server.destroy();
                }
                if (!server.waitFor(30, TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                    server.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            server.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            WorkDirs.deleteTree(dir);
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (IOException | RuntimeException ignored) {
            // at JVM exit there is no one left to tell
        }
    }

    private void ctl(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(asUser);
        cmd.add(tools.tool("pg_ctl").toString());
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-D", data.toString(), "-w", "-t", "30"));
        ServerLauncher.run(cmd, "pg_ctl " + args[0]);
    }

    @Override
    public String toString() {
        return "EphemeralPostgres[" + version + " at " + endpoint.host() + ":" + endpoint.port() + ", " + dir + "]";
    }

    /** Builder for {@link EphemeralPostgres}; every setting has a default. */
    public static final class Builder {
        private final Settings given = new Settings();
        private PgTools tools = PgTools.locate();
        private Path baseDir = Path.of(System.getProperty("java.io.tmpdir"));
        private String runAs;
        private Duration startTimeout = Duration.ofSeconds(60);
        private final Map<String, String> settings = new LinkedHashMap<>();
        private Path tlsCertificate;
        private Path tlsKey;
        private Path clientCa;
        private boolean dataChecksums;

        private Builder() {
            settings.put("fsync", "off");
            settings.put("synchronous_commit", "off");
            settings.put("full_page_writes", "off");
            settings.put("max_connections", "40");
            settings.put("shared_buffers", "128MB");
            settings.put("max_wal_size", "2GB");
            settings.put("checkpoint_timeout", "30min");
        }

        public Builder tools(PgTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Where the server's temporary directory is created (default {@code java.io.tmpdir}). */
        public Builder baseDir(Path baseDir) {
            this.baseDir = given.once("baseDir", this.baseDir, baseDir);
            return this;
        }

        /**
         * The OS user the server runs as when the JVM runs as root (default {@code postgres});
         * ignored otherwise.
         */
        public Builder runAs(String osUser) {
            this.runAs = given.once("runAs", this.runAs, osUser);
            return this;
        }

        public Builder startTimeout(Duration startTimeout) {
            if (startTimeout.isNegative() || startTimeout.isZero()) {
                throw new IllegalArgumentException("startTimeout: got " + startTimeout + ", must be positive");
            }
            this.startTimeout = given.once("startTimeout", this.startTimeout, startTimeout);
            return this;
        }

        /**
         * A server setting passed as {@code -c name=value}, replacing the default if any; repeatable
         * for different names, each name once.
         */
        public Builder setting(String name, String value) {
            if (!Objects.requireNonNull(name, "name").matches("[a-z_][a-z0-9_.]*")) {
                throw new IllegalArgumentException("setting: got name '" + name + "', need a PostgreSQL parameter name");
            }
            settings.put(name, given.once("setting " + name, settings.get(name), value));
            return this;
        }

        /**
         * Serves TLS with {@code certificate} (PEM, the server's certificate and any intermediates)
         * and its private {@code key} (PEM), and refuses TCP connections without TLS: the files are
         * copied into the server's directory, readable by the server's OS user only ({@code ssl=on},
         * {@code ssl_cert_file}, {@code ssl_key_file}), and {@code pg_hba.conf} allows TCP through
         * {@code hostssl} lines only. For {@link #startExisting}, the given directory's
         * {@code pg_hba.conf} is replaced the same way.
         */
        public Builder tls(Path certificate, Path key) {
            Objects.requireNonNull(certificate, "certificate");
            Objects.requireNonNull(key, "key");
            if (tlsCertificate != null) {
                throw new IllegalStateException("tls: already set to " + tlsCertificate + ", given again " + certificate);
            }
            tlsCertificate = certificate;
            tlsKey = key;
            return this;
        }

        /**
         * Makes every role except the instance's own superuser present a client certificate that
         * chains to {@code caCertificates} (PEM) and names the role ({@code clientcert=verify-full},
         * on top of the password); needs {@link #tls}. The superuser keeps password-only access so
         * the instance can check that it is up and set itself up.
         */
        public Builder clientCertificates(Path caCertificates) {
            Objects.requireNonNull(caCertificates, "caCertificates");
            if (clientCa != null) {
                throw new IllegalStateException("clientCertificates: already set to " + clientCa + ", given again " + caCertificates);
            }
            clientCa = caCertificates;
            return this;
        }

        /**
         * Whether {@link #start()} initialises the cluster with data checksums ({@code initdb
         * --data-checksums}; default false, as initdb's own default). Ignored by {@link
         * #startExisting}: a prepared directory has its checksums setting already.
         */
        public Builder dataChecksums(boolean on) {
            given.onceNullable("dataChecksums", this.dataChecksums, on);
            this.dataChecksums = on;
            return this;
        }

        /**
         * Runs initdb and starts the server; returns once it accepts connections.
         *
         * @throws BackupException if the server could not be created or did not start (the
         *                         message has the end of its log)
         */
        public EphemeralPostgres start() {
            try {
                return launcher().start();
            } catch (IOException e) {
                throw new BackupException(Stage.RESTORE, "could not start a PostgreSQL server under " + baseDir + ": "
                        + e.getMessage(), e);
            }
        }

        /**
         * Starts a server on a data directory prepared by someone else, {@code directory/data} (a
         * restored base backup, for example), and connects as {@code user} with {@code password}.
         * The instance owns {@code directory} from now on: {@link #close()} deletes it, and so does
         * a failed start. When the JVM runs as root, the directory tree is first handed to the
         * server's OS user. Returns once the server accepts connections (for a server in recovery:
         * once it is consistent and hot standby is on).
         *
         * @throws BackupException if the server did not start (the message has the end of its log)
         */
        public EphemeralPostgres startExisting(Path directory, String user, String password) {
            try {
                return launcher().startExisting(directory, user, password);
            } catch (IOException e) {
                throw new BackupException(Stage.RESTORE, "could not start PostgreSQL on " + directory + ": " + e.getMessage(), e);
            }
        }

        private ServerLauncher launcher() {
            return new ServerLauncher(tools, baseDir, runAs, startTimeout, settings, tlsCertificate, tlsKey, clientCa,
                    dataChecksums);
        }
    }
}
