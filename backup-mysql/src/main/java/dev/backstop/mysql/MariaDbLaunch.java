package dev.backstop.mysql;

import dev.backstop.core.internal.concurrent.ReadinessPoll;
import dev.backstop.core.internal.concurrent.SetupCommand;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the programs behind {@link EphemeralMariaDb}: {@code mariadb-install-db}, then {@code
 * mariadbd} on a free loopback port (another port when the one picked was taken meanwhile), a
 * watchdog process, and the wait until the server's account can log in.
 */
final class MariaDbLaunch {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String USER = EphemeralMariaDb.USER;

    private final int serverId;
    private final Map<String, String> settings;
    private final Duration startTimeout;

    MariaDbLaunch(int serverId, Map<String, String> settings, Duration startTimeout) {
        this.serverId = serverId;
        this.settings = new LinkedHashMap<>(settings);
        this.startTimeout = startTimeout;
    }

    /** A started server, its watchdog, and where it listens. */
    record Server(Process process, Process watchdog, MariaDbEndpoint endpoint, String version) {
    }

    /** Starts mariadbd on {@code dir}'s data directory; returns once the account can log in. */
Server launch(Path dir, Path mariadbd, boolean root) throws IOException {
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(18));
        Path init = dir.resolve("init.sql");
        // the account is created by the server itself at start-up: no client needs root's socket login
        Files.writeString(init, "CREATE OR REPLACE USER '" + USER + "'@'127.0.0.1' IDENTIFIED BY '" + password + "';\n"
                + "GRANT ALL PRIVILEGES ON *.* TO '" + USER + "'@'127.0.0.1' WITH GRANT OPTION;\n", StandardCharsets.UTF_8);
        Path log = dir.resolve("server.log");
        IOException last = null;
        try {
            for (int attempt = 0; attempt < 3; attempt++) {
                int port = freePort();
                List<String> cmd = new ArrayList<>(List.of(mariadbd.toString(), "--no-defaults",
                        "--datadir=" + dir.resolve("data"), "--port=" + port, "--bind-address=127.0.0.1",
                        "--socket=" + dir.resolve("sock"), "--pid-file=" + dir.resolve("mariadbd.pid"),
                        "--server-id=" + serverId, "--log-bin=" + dir.resolve("data").resolve("binlog"),
                        "--log-error=" + log, "--init-file=" + init, "--tmpdir=" + dir));
                if (root) {
                    cmd.add("--user=root");
                }
                settings.forEach((k, v) -> cmd.add("--" + k + (v == null ? "" : "=" + v)));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile()))
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
                Process watchdog = watchdog(p.pid(), dir);
                MariaDbEndpoint ep = MariaDbEndpoint.of("127.0.0.1", port, USER, password);
                try {
                    String version = awaitReady(p, ep, log);
                    return new Server(p, watchdog, ep, version);
                } catch (IOException e) {
                    p.destroyForcibly();
                    watchdog.destroyForcibly();
                    last = e;
                    String text = Files.exists(log) ? Files.readString(log) : "";
                    if (!text.contains("Address already in use") && !text.contains("Can't start server: Bind")) {
                        break;
                    }
                    try {
                        p.waitFor(30, TimeUnit.SECONDS);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted while restarting mariadbd", ie);
                    }
                }
            }
            throw last;
        } finally {
            Files.deleteIfExists(init);
        }
    }

    /**
     * A shell that outlives the JVM only to clean up after it: when the JVM is gone (even
     * killed by SIGKILL, when no hook runs), it kills the server and deletes the directory.
     */
    private static Process watchdog(long serverPid, Path dir) throws IOException {
        long jvm = ProcessHandle.current().pid();
        String script = "while kill -0 " + jvm + " 2>/dev/null; do sleep 1; done; kill -9 " + serverPid
                + " 2>/dev/null; sleep 1; rm -rf '" + dir.toString().replace("'", "'\\''") + "'";
        return new ProcessBuilder("/bin/sh", "-c", script).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    }

    private String awaitReady(Process p, MariaDbEndpoint ep, Path log) throws IOException {
        return new ReadinessPoll("mariadbd", startTimeout, Duration.ofMillis(50)).await(p, log, () -> {
            try (Connection c = ep.connect(null); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT VERSION()")) {
                rs.next();
                return rs.getString(1);
            }
        });
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

    static void run(List<String> cmd, String what, Path dir) throws IOException {
        SetupCommand.run(cmd, what, dir, Duration.ofSeconds(180));
    }
}
