package dev.backstop.postgres;

import dev.backstop.core.internal.concurrent.ReadinessPoll;
import dev.backstop.core.internal.concurrent.SetupCommand;
import dev.backstop.postgres.internal.WorkDirs;
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
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Launches the server of an {@link EphemeralPostgres} from its builder's settings: creates and
 * initialises the directory (or takes over a prepared one), hands it to the server's OS user when
 * the JVM runs as root, writes the TLS files, starts {@code postgres} on a free loopback port
 * (retrying when another process took the port first) and waits until it accepts connections.
 */
final class ServerLauncher {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final PgTools tools;
    private final Path baseDir;
    private final String runAs;
    private final Duration startTimeout;
    private final Map<String, String> settings;
    private final Path tlsCertificate;
    private final Path tlsKey;
    private final Path clientCa;
    private final boolean dataChecksums;

    ServerLauncher(PgTools tools, Path baseDir, String runAs, Duration startTimeout, Map<String, String> settings,
                   Path tlsCertificate, Path tlsKey, Path clientCa, boolean dataChecksums) {
        this.tools = tools;
        this.baseDir = baseDir;
        this.runAs = runAs;
        this.startTimeout = startTimeout;
        this.settings = new LinkedHashMap<>(settings);
        this.tlsCertificate = tlsCertificate;
        this.tlsKey = tlsKey;
        this.clientCa = clientCa;
        this.dataChecksums = dataChecksums;
    }

    /** Runs initdb into a new directory under the base directory and starts the server there. */
    EphemeralPostgres start() throws IOException {
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
            if (dataChecksums) {
                init.add("--data-checksums");
            }
            try {
                run(init, "initdb");
            } finally {
                Files.deleteIfExists(pwfile);
            }
            return launch(dir, asUser, postgres, "postgres", password);
        } catch (IOException | RuntimeException e) {
            WorkDirs.deleteTree(dir);
            throw e;
        }
    }

    /** Starts a server on {@code directory/data}, which it owns from now on; deletes the directory if that fails. */
    EphemeralPostgres startExisting(Path directory, String user, String password) throws IOException {
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
            WorkDirs.deleteTree(directory);
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
        return new ReadinessPoll("postgres", startTimeout, Duration.ofMillis(100)).await(p, log, () -> {
            try (Connection c = ep.connect("postgres"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SHOW server_version")) {
                rs.next();
                return rs.getString(1).split(" ")[0];
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

    /** Runs {@code cmd} to its end (at most 120 s); returns its output, or throws with it if it failed. */
    static String run(List<String> cmd, String what) throws IOException {
        return SetupCommand.run(cmd, what, null, Duration.ofSeconds(120));
    }
}
