package dev.backstop.postgres;

import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.source.CommandSource.StderrTail;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

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
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final Path data;
    private final List<String> asUser;
    private final PgTools tools;
    private final Process server;
    private final PgEndpoint endpoint;
    private final String version;
    private final Thread shutdownHook;
    private boolean closed;

    private EphemeralPostgres(Path dir, List<String> asUser, PgTools tools, Process server, PgEndpoint endpoint,
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

    /** Starts a server with the defaults. */
    public static EphemeralPostgres start() throws IOException {
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
     */
    public void kill() throws IOException {
        ctl("stop", "-m", "immediate");
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
            PgDumpSource.deleteTree(dir);
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
        run(cmd, "pg_ctl " + args[0]);
    }

    @Override
    public String toString() {
        return "EphemeralPostgres[" + version + " at " + endpoint.host() + ":" + endpoint.port() + ", " + dir + "]";
    }

    private static String run(List<String> cmd, String what) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        StderrTail out = StderrTail.start(p.getInputStream(), what);
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(what + " did not finish within 120 s: " + out.text());
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(what + " interrupted", e);
        }
        String text = out.await();
        if (p.exitValue() != 0) {
            throw new IOException(what + " exited " + p.exitValue() + ": " + text.strip());
        }
        return text;
    }

    /** Builder for {@link EphemeralPostgres}; every setting has a default. */
    public static final class Builder {
        private PgTools tools = PgTools.locate();
        private Path baseDir = Path.of(System.getProperty("java.io.tmpdir"));
        private String runAs;
        private Duration startTimeout = Duration.ofSeconds(60);
        private final Map<String, String> settings = new LinkedHashMap<>();
        private Path tlsCertificate;
        private Path tlsKey;
        private Path clientCa;

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
            this.tools = Objects.requireNonNull(tools, "tools");
            return this;
        }

        /** Where the server's temporary directory is created (default {@code java.io.tmpdir}). */
        public Builder baseDir(Path baseDir) {
            this.baseDir = Objects.requireNonNull(baseDir, "baseDir");
            return this;
        }

        /**
         * The OS user the server runs as when the JVM runs as root (default {@code postgres});
         * ignored otherwise.
         */
        public Builder runAs(String osUser) {
            this.runAs = Objects.requireNonNull(osUser, "osUser");
            return this;
        }

        public Builder startTimeout(Duration startTimeout) {
            if (startTimeout.isNegative() || startTimeout.isZero()) {
                throw new IllegalArgumentException("startTimeout: got " + startTimeout + ", must be positive");
            }
            this.startTimeout = startTimeout;
            return this;
        }

        /** A server setting passed as {@code -c name=value}, replacing the default if any. */
        public Builder setting(String name, String value) {
            if (!Objects.requireNonNull(name, "name").matches("[a-z_][a-z0-9_.]*")) {
                throw new IllegalArgumentException("setting: got name '" + name + "', need a PostgreSQL parameter name");
            }
            settings.put(name, Objects.requireNonNull(value, "value"));
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

        /** Runs initdb and starts the server; returns once it accepts connections. */
        public EphemeralPostgres start() throws IOException {
            boolean root = "root".equals(System.getProperty("user.name"));
            List<String> asUser = List.of();
            String user = root ? (runAs == null ? "postgres" : runAs) : null;
            if (root) {
                asUser = List.of("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--");
            }
            Path initdb = tools.tool("initdb");
            Path postgres = tools.tool("postgres");
            Path dir = Files.createTempDirectory(baseDir, "backstop-pg-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            try {
                if (root) {
                    UserPrincipal owner;
                    try {
                        owner = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(user);
                    } catch (IOException e) {
                        throw new IOException("running as root, the server must run as an unprivileged OS user, but user '"
                                + user + "' does not exist; create it or set EphemeralPostgres.builder().runAs(<user>)", e);
                    }
                    Files.setOwner(dir, owner);
                }
                String password = Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(18));
                Path pwfile = dir.resolve("pwfile");
                Files.writeString(pwfile, password + "\n", StandardCharsets.UTF_8);
                if (root) {
                    Files.setOwner(pwfile, Files.getOwner(dir));
                }
                List<String> init = new ArrayList<>(asUser);
                init.addAll(List.of(initdb.toString(), "-D", dir.resolve("data").toString(), "-U", "postgres",
                        "--auth=scram-sha-256", "--pwfile=" + pwfile, "-E", "UTF8", "--locale=C", "--no-sync",
                        "--no-instructions"));
                try {
                    run(init, "initdb");
                } finally {
                    Files.deleteIfExists(pwfile);
                }
                return launch(dir, asUser, postgres, "postgres", password);
            } catch (IOException | RuntimeException e) {
                PgDumpSource.deleteTree(dir);
                throw e;
            }
        }

        /**
         * Starts a server on a data directory prepared by someone else, {@code directory/data} (a
         * restored base backup, for example), and connects as {@code user} with {@code password}.
         * The instance owns {@code directory} from now on: {@link #close()} deletes it, and so does
         * a failed start. When the JVM runs as root, the directory tree is first handed to the
         * server's OS user. Returns once the server accepts connections (for a server in recovery:
         * once it is consistent and hot standby is on).
         */
        public EphemeralPostgres startExisting(Path directory, String user, String password) throws IOException {
            boolean root = "root".equals(System.getProperty("user.name"));
            List<String> asUser = List.of();
            try {
                if (!Files.isDirectory(directory.resolve("data"))) {
                    throw new IOException("startExisting: " + directory + " has no data directory 'data'");
                }
                if (root) {
                    String osUser = runAs == null ? "postgres" : runAs;
                    asUser = List.of("setpriv", "--reuid=" + osUser, "--regid=" + osUser, "--init-groups", "--");
                    UserPrincipal owner = directory.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(osUser);
                    try (Stream<Path> s = Files.walk(directory)) {
                        for (Path p : (Iterable<Path>) s::iterator) {
                            Files.setOwner(p, owner);
                        }
                    }
                }
                return launch(directory, asUser, tools.tool("postgres"), user, password);
            } catch (IOException | RuntimeException e) {
                PgDumpSource.deleteTree(directory);
                throw e;
            }
        }

        private EphemeralPostgres launch(Path dir, List<String> asUser, Path postgres, String user, String password)
                throws IOException {
            if (clientCa != null && tlsCertificate == null) {
                throw new IllegalStateException("clientCertificates: needs tls(certificate, key): client certificates are "
                        + "only asked for over TLS");
            }
            Map<String, String> settings = new LinkedHashMap<>(this.settings);
            PgTls clientTls = PgTls.prefer();
            if (tlsCertificate != null) {
                settings.putAll(new ServerTls(tlsCertificate, tlsKey, clientCa).install(dir, user));
                clientTls = PgTls.require();
            }
            IOException last = null;
            for (int attempt = 0; attempt < 3; attempt++) {
                int port = freePort();
                List<String> cmd = new ArrayList<>(asUser);
                cmd.addAll(List.of(postgres.toString(), "-D", dir.resolve("data").toString(), "-p", Integer.toString(port),
                        "-k", dir.toString(), "-c", "listen_addresses=127.0.0.1"));
                settings.forEach((k, v) -> cmd.addAll(List.of("-c", k + "=" + v)));
                Path log = dir.resolve("server.log");
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
                PgEndpoint ep = new PgEndpoint("127.0.0.1", port, user, password, clientTls);
                try {
                    String version = awaitReady(p, ep, log);
                    return new EphemeralPostgres(dir, asUser, tools, p, ep, version);
                } catch (IOException e) {
                    p.destroyForcibly();
                    last = e;
                    String text = Files.exists(log) ? Files.readString(log) : "";
                    if (!text.contains("could not bind") && !text.contains("could not create listen socket")) {
                        break;
                    }
                }
            }
            throw last;
        }

        private String awaitReady(Process p, PgEndpoint ep, Path log) throws IOException {
            long deadline = System.nanoTime() + startTimeout.toNanos();
            SQLException lastError = null;
            while (System.nanoTime() < deadline) {
                if (!p.isAlive()) {
                    throw new IOException("postgres exited with code " + p.exitValue() + " during start-up: " + tail(log));
                }
                try (Connection c = ep.connect("postgres"); Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SHOW server_version")) {
                    rs.next();
                    return rs.getString(1).split(" ")[0];
                } catch (SQLException e) {
                    lastError = e;
                }
                try {
                    Backoff.Pause.SLEEP.pause(Duration.ofMillis(100));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for postgres to start", e);
                }
            }
            throw new IOException("postgres did not accept connections within " + startTimeout + " (last error: "
                    + (lastError == null ? "none" : lastError.getMessage()) + "): " + tail(log));
        }

        private static String tail(Path log) throws IOException {
            if (!Files.exists(log)) {
                return "(no server log)";
            }
            String s = Files.readString(log);
            return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
        }

        private static int freePort() throws IOException {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            }
        }

        private static byte[] randomBytes(int n) {
            byte[] b = new byte[n];
            RANDOM.nextBytes(b);
            return b;
        }
    }
}
