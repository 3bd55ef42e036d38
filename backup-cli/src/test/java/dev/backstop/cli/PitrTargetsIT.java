package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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
 * Point-in-time recovery by time, WAL position and transaction id through the built launcher:
 * one physical backup, the WAL archived by {@code backstop wal archive-push}, and three {@code
 * backstop restore --to DIR --start} runs, one per kind of target, each into its own directory.
 */
class PitrTargetsIT {
    Path base;
    EphemeralPostgres pg;
    final List<Path> restored = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (Path dir : restored) {
            stop(dir);
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

    /** Stops the server a restore started in {@code dir}, if it runs. */
    static void stop(Path dir) throws Exception {
        if (Files.exists(dir.resolve("postmaster.pid"))) {
            new ProcessBuilder("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
                    PgTools.locate().tool("pg_ctl").toString(), "stop", "-D", dir.toString(), "-m", "immediate", "-w")
                    .inheritIO().start().waitFor(60, TimeUnit.SECONDS);
        }
    }

    /** Restores into {@code name} to the target {@code args} give, started; returns its markers after promotion. */
    List<String> restore(Path cfg, String name, String setting, String... args) throws Exception {
        Path dir = base.resolve(name);
        restored.add(dir);
        List<String> cmd = new ArrayList<>(List.of("restore"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--to", dir.toString(), "--start", "--json", "--config", cfg.toString()));
        CliIT.Result r = CliIT.run(Map.of(), cmd.toArray(String[]::new));
        assertThat(r.code()).as("%s", r).isZero();
        JsonNode said = PitrIT.JSON.readTree(r.out());
        PgEndpoint server = new PgEndpoint("127.0.0.1", said.get("port").asInt(), "postgres", pg.endpoint().password(), PgTls.prefer());
        List<String> markers = new ArrayList<>();
        try (Connection c = server.connect("postgres"); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT name FROM marker ORDER BY name")) {
                while (rs.next()) {
                    markers.add(rs.getString(1));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                assertThat(rs.getBoolean(1)).as("%s promoted", name).isFalse();
            }
        }
        assertThat(Files.readString(dir.resolve("postgresql.auto.conf"))).contains(setting);
        stop(dir);
        return markers;
    }

    @Test
    void restoresByTargetTimeLsnAndXid_eachRecoverTheFirstMarkerAndNotTheSecond() throws Exception {
        // the server runs as its own OS user: what it reads and writes must be open to it
        base = Files.createTempDirectory("backstop-pitr-targets-it-");
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
        String sysid = PitrIT.value(pg, "SELECT system_identifier FROM pg_control_system()");
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
        assertThat(CliIT.run(Map.of(), "keys", "create", "--config", cfg.toString()).code()).isZero();

        PitrIT.sql(pg, "CREATE TABLE marker (name text PRIMARY KEY)");
        CliIT.Result backup = CliIT.run(Map.of(), "backup", "--physical", "--json", "--config", cfg.toString());
        assertThat(backup.code()).as("%s", backup).isZero();
        String id = PitrIT.JSON.readTree(backup.out()).get("id").asText();

        // m1 in a transaction whose id is the xid target; right after its commit, the time and LSN targets
        String xid;
        try (Connection c = pg.connect("postgres"); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("INSERT INTO marker VALUES ('m1')");
            try (ResultSet rs = s.executeQuery("SELECT txid_current()")) {
                rs.next();
                xid = rs.getString(1);
            }
            c.commit();
        }
        String time = PitrIT.value(pg, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        // the insert position: with synchronous_commit off the write position may not have passed the commit yet
        String lsn = PitrIT.value(pg, "SELECT pg_current_wal_insert_lsn()");
        PitrIT.sql(pg, "INSERT INTO marker VALUES ('m2')");
        String last = PitrIT.value(pg, "SELECT pg_walfile_name(pg_switch_wal())");
        Instant deadline = Instant.now().plusSeconds(120);
        // each look asks the server how archiving goes: a round trip, not a spin
        while (!Files.exists(spool.resolve("ready").resolve(last))) {
            assertThat(Instant.now()).as("%s queued by archive_command (archiver: %s)", last,
                    PitrIT.value(pg, "SELECT last_archived_wal || ' failed ' || failed_count FROM pg_stat_archiver")).isBefore(deadline);
        }
        CliIT.Result drained = CliIT.run(Map.of(), "wal", "drain", "--config", cfg.toString());
        assertThat(drained.code()).as("%s", drained).isZero();
        // the restored servers' restore_command reads the repository, the key and the configuration as their OS user
        try (Stream<Path> all = Files.walk(repo)) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        Files.setPosixFilePermissions(kek, PosixFilePermissions.fromString("rw-r--r--"));

        assertThat(restore(cfg, "by-time", "recovery_target_time", "--target-time", time))
                .as("--target-time %s", time).containsExactly("m1");
        assertThat(restore(cfg, "by-lsn", "recovery_target_lsn = '" + lsn + "'", "--target-lsn", lsn))
                .as("--target-lsn %s", lsn).containsExactly("m1");
        assertThat(restore(cfg, "by-xid", "recovery_target_xid = '" + xid + "'", id, "--target-xid", xid))
                .as("--target-xid %s", xid).containsExactly("m1");
    }
}
