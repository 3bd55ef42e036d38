package dev.backstop.cli.config;

import dev.backstop.cli.config.BackstopConfig.Binlog;
import dev.backstop.cli.config.BackstopConfig.Database;
import dev.backstop.cli.config.BackstopConfig.Mode;
import dev.backstop.cli.config.BackstopConfig.Tls;
import dev.backstop.postgres.SslMode;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;

/**
 * {@code backup.database} (PostgreSQL, MariaDB or MySQL; by its keys or by a URL) and {@code
 * backup.binlog}, refusing what does not belong to the database's engine.
 */
final class DatabaseParser {
    private static final Map<String, String> TYPES = Map.of("postgres", "postgres", "postgresql", "postgres", "mariadb", "mariadb",
            "mysql", "mysql");
    private static final Map<String, Mode> MODES = Map.of("logical", Mode.LOGICAL, "physical", Mode.PHYSICAL);
    private static final String URL_FORM = "a URL like mariadb://user@host:3306/shop, mysql://..., or postgresql://...";

    private DatabaseParser() {
    }

    static Database database(ConfigNode n) {
        Optional<Secret> url = n.optSecret("url");
        Optional<String> typeKey = n.optChoice("type", TYPES);
        Parts parts = url.map(u -> parseUrl(n, u)).orElse(null);
        String type;
        if (parts != null) {
            if (typeKey.isPresent() && !typeKey.get().equals(parts.type())) {
                throw new ConfigException(n.pathOf("type"), "is \"" + typeKey.get() + "\" but url is a " + parts.type()
                        + " URL; give one of them, or make them agree");
            }
            for (String key : new String[] {"host", "port", "user", "name"}) {
                if (n.has(key)) {
                    throw new ConfigException(n.pathOf(key), "conflicts with url, which names it already; give url or "
                            + "host, port, user and name");
                }
            }
            type = parts.type();
        } else {
            type = typeKey.orElseThrow(() -> n.missing("type", "\"postgres\", \"mariadb\" or \"mysql\" (or url: " + URL_FORM + ")"));
        }
        boolean mariadb = !type.equals("postgres");
        int defaultPort = mariadb ? 3306 : 5432;
        String host = parts != null ? parts.host() : n.string("host");
        int port = parts != null ? parts.port().orElse(defaultPort) : n.optInt("port", 1, 65535).orElse(defaultPort);
        String user = parts != null ? parts.user().orElseThrow(() -> new ConfigException(n.pathOf("url"),
                "names no user; expected " + URL_FORM + " (value hidden: it may hold a password)")) : n.string("user");
        Optional<Secret> password = n.optSecret("password");
        if (parts != null && parts.password().isPresent()) {
            if (password.isPresent()) {
                throw new ConfigException(n.pathOf("password"), "conflicts with the password in url; give it in one place");
            }
            password = parts.password();
        }
        Optional<String> name = parts != null ? parts.name() : n.optString("name");
        if (!mariadb) {
            Optional<Tls> tls = n.optObject("tls").map(DatabaseParser::tls);
            Mode mode = n.optChoice("mode", MODES).orElse(Mode.LOGICAL);
            Optional<Path> dataDirectory = n.optPath("dataDirectory");
            dataDirectory.ifPresent(d -> {
                if (!d.isAbsolute()) {
                    throw n.bad("dataDirectory", d.toString(), "an absolute path, like \"/var/lib/postgresql/15/main\"");
                }
            });
            Optional<Path> workDir = n.optPath("workDir");
            n.finish();
            return new Database(type, host, port, user, password,
                    name.orElseThrow(() -> n.missing("name", "the database to back up")),
                    tls, mode, Optional.empty(), workDir, dataDirectory);
        }
        if (n.has("dataDirectory")) {
            throw new ConfigException(n.pathOf("dataDirectory"), "is for PostgreSQL physical backups; a physical MariaDB/MySQL "
                    + "backup (\"mode\": \"physical\") is taken by mariadb-backup, which finds the data directory itself");
        }
        if (n.has("tls")) {
            throw new ConfigException(n.pathOf("tls"), "is for PostgreSQL; Backstop connects to MariaDB/MySQL without TLS "
                    + "(use loopback, a trusted network or a TLS tunnel)");
        }
        Mode mode = n.optChoice("mode", MODES).orElse(Mode.LOGICAL);
        Optional<Integer> jobs = n.optInt("jobs", 1, 64);
        Optional<Path> workDir = n.optPath("workDir");
        n.finish();
        if (mode == Mode.LOGICAL && name.isEmpty()) {
            throw n.missing(parts != null ? "url" : "name", "the database to back up (a logical backup dumps one database)"
                    + (parts != null ? ", as the URL's path: mariadb://user@host:3306/shop" : ""));
        }
        return new Database(type, host, port, user, password, name.orElse(""), Optional.empty(), mode, jobs, workDir);
    }

    /** What a database URL says; the password is a secret. */
    private record Parts(String type, String host, Optional<Integer> port, Optional<String> user, Optional<Secret> password,
                         Optional<String> name) {
    }

    private static Parts parseUrl(ConfigNode n, Secret secret) {
        String hidden = " (value hidden: it may hold a password)";
        URI u;
        try {
            u = new URI(secret.reveal());
        } catch (URISyntaxException e) {
            throw new ConfigException(n.pathOf("url"), "is not a URL; expected " + URL_FORM + hidden);
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
        String type = TYPES.get(scheme);
        if (type == null || u.getHost() == null || u.getQuery() != null || u.getFragment() != null) {
            throw new ConfigException(n.pathOf("url"), (type == null ? "has scheme \"" + scheme + "\"; expected " : "expected ")
                    + URL_FORM + ", without query or fragment" + hidden);
        }
        String host = u.getHost().startsWith("[") ? u.getHost().substring(1, u.getHost().length() - 1) : u.getHost();
        Optional<String> user = Optional.empty();
        Optional<Secret> password = Optional.empty();
        if (u.getUserInfo() != null) {
            int colon = u.getUserInfo().indexOf(':');
            user = Optional.of(colon < 0 ? u.getUserInfo() : u.getUserInfo().substring(0, colon)).filter(s -> !s.isEmpty());
            password = colon < 0 ? Optional.empty() : Optional.of(Secret.of(u.getUserInfo().substring(colon + 1)));
        }
        String path = u.getPath() == null ? "" : u.getPath();
        Optional<String> name = Optional.of(path.startsWith("/") ? path.substring(1) : path).filter(s -> !s.isEmpty());
        if (name.isPresent() && name.get().contains("/")) {
            throw new ConfigException(n.pathOf("url"), "has the path \"" + path + "\"; expected one database name after the host"
                    + " (mariadb://user@host:3306/shop)");
        }
        return new Parts(type, host, u.getPort() < 0 ? Optional.empty() : Optional.of(u.getPort()), user, password, name);
    }

    private static Tls tls(ConfigNode n) {
        SslMode mode = n.optChoice("mode", ConfigNode.choices(SslMode::keyword, Arrays.asList(SslMode.values())))
                .orElseThrow(() -> n.missing("mode", "one of disable, prefer, require, verify-ca, verify-full"));
        Tls tls = new Tls(mode, n.optPath("rootCert"), n.optPath("clientCert"), n.optPath("clientKey"));
        n.finish();
        try {
            tls.toPgTls();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new ConfigException(n.path(), e.getMessage());
        }
        return tls;
    }

    static Binlog binlog(ConfigNode n, Database database) {
        if (!database.mariadb()) {
            throw new ConfigException(n.path(), "is for MariaDB/MySQL binlog streaming, but backup.database is " + database.type()
                    + " (PostgreSQL archives WAL: backup.wal)");
        }
        Optional<Long> serverId = n.optString("serverId").map(v -> {
            try {
                long id = Long.parseLong(v.strip());
                if (id >= 1 && id <= 0xffffffffL) {
                    return id;
                }
            } catch (NumberFormatException e) {
                // falls through to the message below
            }
            throw n.bad("serverId", v, "the server's @@server_id, a whole number from 1 to 4294967295");
        });
        Optional<String> archive = n.optString("archive");
        archive.ifPresent(a -> {
            if (!a.matches("[A-Za-z0-9._-]{1,64}") || a.startsWith(".")) {
                throw n.bad("archive", a, "1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.' (one path segment)");
            }
        });
        Path spool = n.optPath("spool").orElseThrow(() -> n.missing("spool",
                "a local directory the received binlog files are written into, like \"/var/lib/backstop/binlog\""));
        Optional<String> startFile = n.optString("startFile");
        startFile.ifPresent(f -> {
            if (!f.matches("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}\\.[0-9]{6,18}")) {
                throw n.bad("startFile", f, "a binlog file name as SHOW BINARY LOGS lists it, like \"mariadb-bin.000001\"");
            }
        });
        boolean deltas = n.bool("deltas", true);
        Duration poll = n.optString("pollInterval").map(v -> pollInterval(n, v)).orElse(Duration.ofMillis(200));
        boolean acceptGaps = n.bool("acceptGaps", false);
        n.finish();
        if (archive.isPresent() && serverId.isEmpty()) {
            throw n.missing("serverId", "the server's @@server_id: an archive named by hand must say whose binlogs it holds");
        }
        return new Binlog(serverId, archive, spool, startFile, deltas, poll, acceptGaps);
    }

    private static Duration pollInterval(ConfigNode n, String v) {
        String t = v.strip();
        try {
            Duration d = t.endsWith("ms") ? Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2))) : ConfigNode.duration(t);
            if (d.compareTo(Duration.ofMillis(10)) >= 0 && d.compareTo(Duration.ofMinutes(1)) <= 0) {
                return d;
            }
        } catch (IllegalArgumentException e) {
            // falls through to the message below
        }
        throw n.bad("pollInterval", v, "a duration from 10ms to 1m, like 200ms");
    }
}
