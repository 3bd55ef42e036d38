package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PgTls;
import dev.backstop.postgres.PgTools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Point-in-time recovery from the command line, as an operator runs it: a server whose
 * archive_command is {@code backstop wal archive-push} (into a spool, drained by {@code backstop
 * wal drain}), a physical backup by {@code backstop backup --physical}, then {@code backstop
 * restore --target-name --to DIR --start} through the built launcher.
 */
class PitrIT {
    static final ObjectMapper JSON = new ObjectMapper();

    Path base;
    EphemeralPostgres pg;
    Path restored;

    @AfterEach
    void tearDown() throws Exception {
        if (restored != null && Files.exists(restored.resolve("postmaster.pid"))) {
            new ProcessBuilder("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
                    PgTools.locate().tool("pg_ctl").toString(), "stop", "-D", restored.toString(), "-m", "immediate", "-w")
                    .inheritIO().start().waitFor(60, TimeUnit.SECONDS);
        }
        if (pg != null) {
            pg.close();
        }
        if (base != null) {
            try (Stream<Path> all = Files.walk(base)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static void sql(EphemeralPostgres pg, String statement) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    static String value(EphemeralPostgres pg, String query) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void restoreToARestorePoint_intoADirectory_startedAndPromoted_hasTheMarkerBeforeItAndNotTheOneAfter() throws Exception {
        // the server runs as its own OS user: what it reads and writes must be open to it
        base = Files.createTempDirectory("backstop-pitr-it-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path spool = base.resolve("spool");
        for (Path p : List.of(spool, spool.resolve("ready"), spool.resolve("tmp"))) {
            Files.createDirectories(p);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
        }
        Path repo = base.resolve("repo");
        Path kek = base.resolve("kek.json");
        Path cfg = base.resolve("backstop.json");
        pg = EphemeralPostgres.builder().setting("archive_mode", "on")
                .setting("archive_command", "'" + CliIT.LAUNCHER + "' wal archive-push %p %f --config '" + cfg + "'").start();
        String sysid = value(pg, "SELECT system_identifier FROM pg_control_system()");
        // literal values: archive_command and restore_command read the file in the server's environment
        Files.writeString(cfg, """
                {"backup": {
                  "database": {"type": "postgres", "host": "127.0.0.1", "port": %d, "user": "postgres", "password": "%s",
                               "name": "postgres"},
                  "storage": {"provider": "filesystem", "path": "%s"},
                  "encryption": {"keyset": "%s"},
                  "wal": {"systemId": "%s", "spool": "%s", "drainer": "external"}
                }}
                """.formatted(pg.endpoint().port(), pg.endpoint().password(), repo, kek, sysid, spool));
        Files.setPosixFilePermissions(cfg, PosixFilePermissions.fromString("rw-r--r--"));
        Map<String, String> env = Map.of();
        assertThat(CliIT.run(env, "keys", "create", "--config", cfg.toString()).code()).isZero();

        sql(pg, "CREATE TABLE marker (name text PRIMARY KEY)");
        CliIT.Result backup = CliIT.run(env, "backup", "--physical", "--json", "--config", cfg.toString());
        assertThat(backup.code()).as("%s", backup).isZero();
        String id = JSON.readTree(backup.out()).get("id").asText();
        assertThat(id).contains("-physical-");
        sql(pg, "INSERT INTO marker VALUES ('m1')");
        sql(pg, "SELECT pg_create_restore_point('T')");
        sql(pg, "INSERT INTO marker VALUES ('m2')");
        String last = value(pg, "SELECT pg_walfile_name(pg_switch_wal())");
        Instant deadline = Instant.now().plusSeconds(120);
        // each look asks the server how archiving goes: a round trip, not a spin
        while (!Files.exists(spool.resolve("ready").resolve(last))) {
            assertThat(Instant.now()).as("%s queued by archive_command (archiver: %s); server log:%n%s", last,
                    value(pg, "SELECT last_archived_wal || ' failed ' || failed_count FROM pg_stat_archiver"),
                    Files.readString(pg.directory().resolve("server.log"))).isBefore(deadline);
        }
        CliIT.Result drained = CliIT.run(env, "wal", "drain", "--config", cfg.toString());
        assertThat(drained.code()).as("%s", drained).isZero();
        // the restored server's restore_command reads the repository, the key and the configuration as its OS user
        try (Stream<Path> all = Files.walk(repo)) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        Files.setPosixFilePermissions(kek, PosixFilePermissions.fromString("rw-r--r--"));

        CliIT.Result gtid = CliIT.run(env, "restore", "--latest", "--to", base.resolve("never").toString(), "--target-gtid", "0-1-5",
                "--config", cfg.toString());
        assertThat(gtid.code()).as("%s", gtid).isEqualTo(Backstop.USAGE);
        assertThat(gtid.err()).contains("--target-gtid: not supported for PostgreSQL");
        assertThat(base.resolve("never")).doesNotExist();

        restored = base.resolve("restored");
        CliIT.Result r = CliIT.run(env, "restore", "--target-name=T", "--to", restored.toString(), "--start", "--json",
                "--config", cfg.toString());

        assertThat(r.code()).as("%s", r).isZero();
        JsonNode said = JSON.readTree(r.out());
        assertThat(said.get("id").asText()).isEqualTo(id);
        assertThat(said.get("target").asText()).isEqualTo("restore point T");
        assertThat(said.get("restoreCommand").asText()).contains(CliIT.LAUNCHER.toString(), "wal", "archive-get", "--system-id", sysid);
        int port = said.get("port").asInt();
        PgEndpoint restoredServer = new PgEndpoint("127.0.0.1", port, "postgres", pg.endpoint().password(), PgTls.prefer());
        List<String> markers = new ArrayList<>();
        try (Connection c = restoredServer.connect("postgres"); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT name FROM marker ORDER BY name")) {
                while (rs.next()) {
                    markers.add(rs.getString(1));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery(), current_setting('archive_mode')")) {
                rs.next();
                assertThat(rs.getBoolean(1)).as("promoted").isFalse();
                assertThat(rs.getString(2)).isEqualTo("off");
            }
        }
        assertThat(markers).containsExactly("m1");
        assertThat(Files.readString(restored.resolve("postgresql.auto.conf"))).contains("recovery_target_name = 'T'");
    }
}
