package dev.backstop.mysql;

import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway MariaDB server from the machine's own binaries: {@code mariadb-install-db
 * --no-defaults} into a private temporary directory, {@code mariadbd --no-defaults} on a random
 * free loopback port and a socket in that directory, binary log on ({@code ROW} format) with a
 * server id, and an account {@code backstop@127.0.0.1} with a random password and every privilege.
 *
 * <pre>{@code
 * try (EphemeralMariaDb db = EphemeralMariaDb.start()) {
 *     db.createDatabase("shop");
 *     try (Connection c = db.connect("shop")) { ... }
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> {@link #close()} stops the server and deletes the directory; a JVM
 * shutdown hook does the same for instances never closed, and a small watchdog process kills the
 * server and deletes the directory if the JVM dies without running its hooks (killed by a
 * signal). Nothing listens on anything but 127.0.0.1 and the private socket. No option file of
 * the machine is read. Readiness is polled over JDBC until the account can log in.
 *
 * <p><b>Restrictions.</b> When the JVM runs as root the server runs as root too
 * ({@code --user=root}), inside its private directory. Durability is relaxed for speed
 * ({@code innodb_flush_log_at_trx_commit=2}, {@code sync_binlog=0}): a throwaway server needs no
 * crash safety. The root account ({@code root@localhost}, no password) stays for object definers.
 *
 * <p><b>Threading.</b> Thread-safe.
 */
public final class EphemeralMariaDb implements MariaDbInstance {
    /** The account {@link #endpoint()} connects as. */
    public static final String USER = "backstop";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final Process server;
    private final Process watchdog;
    private final MariaDbEndpoint endpoint;
    private final String version;
    private final int serverId;
    private final Thread shutdownHook;
    private boolean closed;

    private EphemeralMariaDb(Path dir, Process server, Process watchdog, MariaDbEndpoint endpoint, String version,
                             int serverId) {
        this.dir = dir;
        this.server = server;
        this.watchdog = watchdog;
        this.endpoint = endpoint;
        this.version = version;
        this.serverId = serverId;
        this.shutdownHook = DaemonThreads.named("backstop-ephemeral-mariadb-cleanup").newThread(this::closeQuietly);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts a server with the defaults.
     *
     * @throws BackupException if the server could not be started (see {@link Builder#start()})
     */
    public static EphemeralMariaDb start() {
        return builder().start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A provider starting servers with the defaults and {@code tools}. */
    public static MariaDbProvider provider(MariaDbTools tools) {
        return builder().tools(tools)::start;
    }

    @Override
    public MariaDbEndpoint endpoint() {
        return endpoint;
    }

    @Override
    public String version() {
        return version;
    }

    /** The server id it runs with ({@code server_id}). */
    public int serverId() {
        return serverId;
    }

    /** The operating-system process id of {@code mariadbd}. */
    public long pid() {
        return server.pid();
    }

    /** Whether the server process still runs. */
    public boolean isAlive() {
        return server.isAlive();
    }

    /** The directory holding the data directory, the socket and the server log. */
    public Path directory() {
        return dir;
    }

    /**
     * Kills the server the way a crash would (SIGKILL); connections break at once. The data
     * stays until {@link #close()}.
     *
     * @throws BackupException at {@link Stage#RESTORE} if the server is still alive 30 s later, or
     *     the wait is interrupted
     */
    public void kill() {
        server.destroyForcibly();
        try {
            if (!server.waitFor(30, TimeUnit.SECONDS)) {
                throw new BackupException(Stage.RESTORE, "mariadbd (pid " + server.pid() + ") did not die within 30 s of SIGKILL",
                        null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException(Stage.RESTORE, "interrupted while killing mariadbd", e);
        }
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
                // SIGTERM is mariadbd's normal shutdown
                server.destroy();
                if (!server.waitFor(30, TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                    server.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            server.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            watchdog.destroyForcibly();
            deleteTree(dir);
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (IOException | RuntimeException ignored) {
            // at JVM exit there is no one left to tell
        }
    }

    @Override
    public String toString() {
        return "EphemeralMariaDb[" + version + " at " + endpoint.host() + ":" + endpoint.port() + ", " + dir + "]";
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: temporary data
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    /** Builder for {@link EphemeralMariaDb}; every setting has a default; a setting given twice is refused. */
    public static final class Builder {
        private final Settings given = new Settings();
        private MariaDbTools tools = MariaDbTools.locate();
        private Path baseDir = Path.of(System.getProperty("java.io.tmpdir"));
        private Duration startTimeout = Duration.ofSeconds(90);
        private int serverId = 1 + RANDOM.nextInt(1 << 20);
        private Path dataDirectory;
        private final Map<String, String> settings = new LinkedHashMap<>();

        private Builder() {
            settings.put("binlog-format", "ROW");
            settings.put("innodb-buffer-pool-size", "128M");
            settings.put("innodb-flush-log-at-trx-commit", "2");
            settings.put("sync-binlog", "0");
            settings.put("max-connections", "80");
            settings.put("skip-name-resolve", null);
        }

        public Builder tools(MariaDbTools tools) {
            this.tools = given.once("tools", this.tools, tools);
            return this;
        }

        /** Where the server's temporary directory is created (default {@code java.io.tmpdir}). */
        public Builder baseDir(Path baseDir) {
            this.baseDir = given.once("baseDir", this.baseDir, baseDir);
            return this;
        }

        public Builder startTimeout(Duration startTimeout) {
            if (startTimeout.isNegative() || startTimeout.isZero()) {
                throw new IllegalArgumentException("startTimeout: got " + startTimeout + ", must be positive");
            }
            given.onceNullable("startTimeout", this.startTimeout, startTimeout);
            this.startTimeout = startTimeout;
            return this;
        }

        /** The server id (default random in 1..2^20). */
        public Builder serverId(int serverId) {
            if (serverId < 1) {
                throw new IllegalArgumentException("serverId: got " + serverId + ", must be 1..4294967295");
            }
            given.onceNullable("serverId", this.serverId, serverId);
            this.serverId = serverId;
            return this;
        }

        /**
         * A server option passed as {@code --name=value} (or {@code --name} when value is null),
         * replacing the default if any. The directory, port, socket and binary log are not settable.
         * Additive: each call adds one option (a later one for the same name wins).
         */
        public Builder setting(String name, String value) {
            if (!Objects.requireNonNull(name, "name").matches("[a-z][a-z0-9_-]*")) {
                throw new IllegalArgumentException("setting: got name '" + name + "', need a mariadbd option name such as "
                        + "innodb-buffer-pool-size");
            }
            if (List.of("datadir", "port", "socket", "bind-address", "log-bin", "pid-file", "user", "init-file",
                    "server-id", "log-error").contains(name.replace('_', '-'))) {
                throw new IllegalArgumentException("setting: '" + name + "' is managed by EphemeralMariaDb itself");
            }
            settings.put(name, value);
            return this;
        }

        /**
         * Starts on an existing data directory (such as a prepared physical backup) instead of
         * installing a fresh one: {@link #start()} moves it into the server's private directory,
         * so it must be on the same file system as {@link #baseDir}, and {@link #close()} deletes
         * it with the server (a failed start too). The account is created, or replaced with a new
         * password if the data directory already has it.
         */
        public Builder dataDirectory(Path prepared) {
            this.dataDirectory = given.once("dataDirectory", "none", prepared);
            return this;
        }

        /**
         * Installs a data directory and starts the server; returns once the account can log in.
         *
         * @throws BackupException (stage {@link Stage#RESTORE}) if the server could not be
         *     installed or started; its directory is deleted
         */
        public EphemeralMariaDb start() {
            try {
                return install();
            } catch (IOException e) {
                throw new BackupException(Stage.RESTORE, "could not start a throwaway MariaDB server in " + baseDir + ": "
                        + e.getMessage(), e);
            }
        }

        private EphemeralMariaDb install() throws IOException {
            Path mariadbd = tools.tool("mariadbd");
            boolean root = "root".equals(System.getProperty("user.name"));
            Path dir = Files.createTempDirectory(baseDir, "backstop-mariadb-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            try {
                MariaDbLaunch launch = new MariaDbLaunch(serverId, settings, startTimeout);
                if (dataDirectory != null) {
                    Files.move(dataDirectory, dir.resolve("data"));
                    return started(dir, launch.launch(dir, mariadbd, root));
                }
                Path installDb = tools.tool("mariadb-install-db");
                List<String> install = new ArrayList<>(List.of(installDb.toString(), "--no-defaults",
                        "--auth-root-authentication-method=normal", "--skip-test-db", "--datadir=" + dir.resolve("data"),
                        // its own temporary files: names in a shared /tmp are only unique per process id
                        "--tmpdir=" + dir));
                if (root) {
                    install.add("--user=root");
                }
                MariaDbLaunch.run(install, "mariadb-install-db", dir);
                return started(dir, launch.launch(dir, mariadbd, root));
            } catch (IOException | RuntimeException e) {
                deleteTree(dir);
                throw e;
            }
        }

        private EphemeralMariaDb started(Path dir, MariaDbLaunch.Server s) {
            return new EphemeralMariaDb(dir, s.process(), s.watchdog(), s.endpoint(), s.version(), serverId);
        }
    }
}
