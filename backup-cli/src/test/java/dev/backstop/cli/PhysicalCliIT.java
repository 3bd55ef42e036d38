package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.postgres.EphemeralPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL physical backups driven by the configuration, through the built launcher: a data
 * directory read at full and incr level, a rate limit, the physical drill of a chain with
 * progress lines, a restore point recorded by {@code backstop restore-point} and the PITR drill
 * to it, and the daemon's per-level jobs. One archiving cluster ({@code wal_log_hints} on, for
 * increments) whose archive_command is {@code backstop wal archive-push} into a spool.
 */
class PhysicalCliIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static Path base;
    static Path cfg;
    static Path spool;
    static Path repo;
    static EphemeralPostgres pg;
    static final Map<String, String> ENV = Map.of();

    @BeforeAll
    static void start() throws Exception {
        // the server runs as its own OS user: what archive_command reads and writes must be open to it
        base = Files.createTempDirectory("backstop-physical-it-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        spool = base.resolve("spool");
        for (Path p : List.of(spool, spool.resolve("ready"), spool.resolve("tmp"))) {
            Files.createDirectories(p);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxrwxrwx"));
        }
        repo = base.resolve("repo");
        cfg = base.resolve("backstop.json");
        pg = EphemeralPostgres.builder().setting("wal_log_hints", "on").setting("archive_mode", "on")
                .setting("archive_command", "'" + CliIT.LAUNCHER + "' wal archive-push %p %f --config '" + cfg + "'").start();
        String sysid = PitrIT.value(pg, "SELECT system_identifier FROM pg_control_system()");
        Files.writeString(cfg, """
                {"backup": {
                  "database": {"type": "postgres", "host": "127.0.0.1", "port": %d, "user": "postgres", "password": "%s",
                               "name": "postgres", "mode": "physical", "dataDirectory": "%s"},
                  "storage": {"provider": "filesystem", "path": "%s"},
                  "encryption": {"keyset": "%s"},
                  "wal": {"systemId": "%s", "spool": "%s", "drainer": "external"},
                  "schedules": {"full": "0 1 * * 0", "incr": "0 * * * *"},
                  "chainLimit": 3,
                  "rateLimit": {"reads": "512MiB/s", "uploads": "512MiB/s"},
                  "validation": {"kind": "physical", "checks": ["checksum", "row-count", "schema-integrity"],
                                 "schedule": "0 3 * * 0"}
                }}
                """.formatted(pg.endpoint().port(), pg.endpoint().password(), pg.directory().resolve("data"), repo,
                base.resolve("kek.json"), sysid, spool));
        Files.setPosixFilePermissions(cfg, PosixFilePermissions.fromString("rw-r--r--"));
        CliIT.Result created = CliIT.run(ENV, "keys", "create", "--config", cfg.toString());
        assertThat(created.code()).as("%s", created).isZero();
        Files.setPosixFilePermissions(base.resolve("kek.json"), PosixFilePermissions.fromString("rw-r--r--"));
        PitrIT.sql(pg, "CREATE TABLE ledger (id bigserial PRIMARY KEY, note text NOT NULL)");
        PitrIT.sql(pg, "INSERT INTO ledger (note) SELECT 'row ' || g FROM generate_series(1, 20000) g");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pg != null) {
            pg.close();
        }
        if (base != null) {
            try (Stream<Path> all = Files.walk(base)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static CliIT.Result run(String... args) throws Exception {
        String[] all = new String[args.length + 2];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = "--config";
        all[args.length + 1] = cfg.toString();
        return CliIT.run(ENV, all);
    }

    @Test
    void fullThenIncr_fromTheDataDirectory_thenThePhysicalDrillOfTheChain_withProgressLines() throws Exception {
        CliIT.Result check = run("config", "check");
        assertThat(check.code()).as("%s", check).isZero();
        assertThat(check.out()).contains("mode=physical dataDirectory=" + pg.directory().resolve("data"),
                "capture:    level full, chain limit 3, rate limit reads 512.0 MiB/s, uploads 512.0 MiB/s",
                "schedule:   incr backups on cron \"0 * * * *\"", "validation: physical drill")
                .doesNotContain(pg.endpoint().password());

        CliIT.Result full = run("backup", "--json");
        assertThat(full.code()).as("%s", full).isZero();
        JsonNode fullJson = JSON.readTree(full.out());
        String fullId = fullJson.get("id").asText();
        assertThat(fullJson.get("level").asText()).isEqualTo("full");
        PitrIT.sql(pg, "UPDATE ledger SET note = 'changed' WHERE id % 50 = 0");
        PitrIT.sql(pg, "INSERT INTO ledger (note) SELECT 'more ' || g FROM generate_series(1, 500) g");

        CliIT.Result incr = run("backup", "--level", "incr", "--json");
        assertThat(incr.code()).as("%s", incr).isZero();
        JsonNode incrJson = JSON.readTree(incr.out());
        String incrId = incrJson.get("id").asText();
        assertThat(incrJson.get("level").asText()).isEqualTo("incr");
        assertThat(incrJson.get("storedBytes").asLong()).isLessThan(fullJson.get("storedBytes").asLong());
        CliIT.Result info = run("info", incrId, "--json");
        assertThat(JSON.readTree(info.out()).get("parent").asText()).isEqualTo(fullId);

        CliIT.Result bad = run("backup", "--level", "weekly");
        assertThat(bad.code()).as("%s", bad).isEqualTo(Backstop.USAGE);
        assertThat(bad.err()).contains("--level: got \"weekly\", expected full, diff or incr");

        CliIT.Result drill = run("drill", "--json", "--progress");
        assertThat(drill.code()).as("%s", drill).isZero();
        JsonNode verdict = JSON.readTree(drill.out());
        assertThat(verdict.get("id").asText()).as("the newest physical backup").isEqualTo(incrId);
        assertThat(verdict.get("check").asText()).isEqualTo("physical-restore-drill");
        assertThat(verdict.get("passed").asBoolean()).as("%s", drill).isTrue();
        assertThat(verdict.get("measurements").get("amcheck").asText()).isEqualTo("passed");
        assertThat(verdict.get("measurements").has("rto_ms")).isTrue();
        String last = drill.err().lines().filter(l -> l.startsWith("progress=drill")).reduce((a, b) -> b).orElseThrow();
        assertThat(last).endsWith(" done=true");
        long read = Long.parseLong(last.replaceFirst("^progress=drill bytes=(\\d+) .*$", "$1"));
        // the increment alone is far smaller: the drill read the full backup it builds on too
        assertThat(read).as("stored bytes of the chain read").isGreaterThan(fullJson.get("storedBytes").asLong() / 2)
                .isGreaterThan(incrJson.get("storedBytes").asLong());

        CliIT.Result restored = run("restore", incrId, "--to-file", base.resolve("files").toString(), "--progress", "--json");
        assertThat(restored.code()).as("%s", restored).isZero();
        assertThat(restored.err()).contains("progress=restore bytes=").contains("done=true");
    }

    @Test
    void theNewestRestorePointRecordedFromTheCommandLine_isWhereThePitrDrillRecoversTo_andItsFingerprintsAreCompared() throws Exception {
        CliIT.Result backup = run("backup", "--level", "full", "--json");
        assertThat(backup.code()).as("%s", backup).isZero();
        String id = JSON.readTree(backup.out()).get("id").asText();
        PitrIT.sql(pg, "INSERT INTO ledger (note) VALUES ('before the point')");

        CliIT.Result point = run("restore-point", "cli-point-1", "--json");
        assertThat(point.code()).as("%s", point).isZero();
        assertThat(JSON.readTree(point.out()).get("name").asText()).isEqualTo("cli-point-1");
        PitrIT.sql(pg, "INSERT INTO ledger (note) VALUES ('between the points')");
        CliIT.Result second = run("restore-point", "cli-point-2");
        assertThat(second.code()).as("%s", second).isZero();
        PitrIT.sql(pg, "INSERT INTO ledger (note) VALUES ('after the points')");
        String last = PitrIT.value(pg, "SELECT pg_walfile_name(pg_switch_wal())");
        Instant deadline = Instant.now().plusSeconds(120);
        // each look asks the server how archiving goes: a round trip, not a spin
        while (!Files.exists(spool.resolve("ready").resolve(last))) {
            assertThat(Instant.now()).as("%s queued by archive_command (archiver: %s)", last,
                    PitrIT.value(pg, "SELECT last_archived_wal || ' failed ' || failed_count FROM pg_stat_archiver"))
                    .isBefore(deadline);
        }
        CliIT.Result drained = run("wal", "drain");
        assertThat(drained.code()).as("%s", drained).isZero();

        // the newest point of the prefix: a drill schedule renews its point under new names
        CliIT.Result drill = run("drill", "--kind", "pitr", "--restore-point", "cli-point-*", "--json");

        assertThat(drill.code()).as("%s", drill).isZero();
        JsonNode verdict = JSON.readTree(drill.out());
        assertThat(verdict.get("id").asText()).isEqualTo(id);
        assertThat(verdict.get("passed").asBoolean()).as("%s", drill).isTrue();
        assertThat(verdict.get("measurements").get("target").asText()).contains("cli-point-2");
        assertThat(verdict.get("measurements").get("fingerprints").asText()).isEqualTo("compared");

        CliIT.Result unknown = run("drill", "--kind", "pitr", "--restore-point", "never-recorded");
        assertThat(unknown.code()).as("%s", unknown).isNotZero();
        assertThat(unknown.err()).contains("restore point 'never-recorded'", "is not recorded");
    }

    @Test
    void theDaemonsLevelJobs_asAProcess_takeAFullBackupAtStartThenIncrementsOnItsChain() throws Exception {
        // a tick every ten seconds for incr (cron's optional seconds field); the full one only at start
        Path daemonCfg = base.resolve("daemon.json");
        // a repository of its own: its first backup starts a chain whichever job comes first
        Files.writeString(daemonCfg, Files.readString(cfg).replace("\"path\": \"" + repo + "\"", "\"path\": \"" + base.resolve("daemon-repo") + "\"").replace("\"schedules\": {\"full\": \"0 1 * * 0\", \"incr\": \"0 * * * *\"}",
                "\"schedules\": {\"full\": \"0 0 1 1 1 *\", \"incr\": \"*/10 * * * * *\"}"));
        assertThat(Files.readString(daemonCfg)).contains("*/10 * * * * *", "daemon-repo");
        Instant started = Instant.now();
        Path err = base.resolve("daemon.err");
        ProcessBuilder pb = new ProcessBuilder(CliIT.LAUNCHER.toString(), "run", "--backup-now", "--config", daemonCfg.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        Process daemon = pb.start();
        List<Manifest> ours;
        try (Context ctx = new Context(BackstopConfig.load(daemonCfg, ENV))) {
            Instant deadline = Instant.now().plusSeconds(150);
            while (true) {
                ours = ctx.keyedRepository().catalog().list().stream().filter(m -> m.startedAt().isAfter(started))
                        .sorted(Comparator.comparing(Manifest::startedAt)).toList();
                if (ours.size() >= 3) {
                    break;
                }
                assertThat(daemon.isAlive()).as("daemon running:%n%s", Files.readString(err)).isTrue();
                assertThat(Instant.now()).as("three backups by now:%n%s", Files.readString(err)).isBefore(deadline);
                PitrIT.sql(pg, "UPDATE ledger SET note = 'by the daemon' WHERE id % 70 = 0");
                daemon.waitFor(500, java.util.concurrent.TimeUnit.MILLISECONDS);
            }
            daemon.destroy();
            assertThat(daemon.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("stopped").isTrue();
        } finally {
            daemon.destroyForcibly();
        }
        String log = Files.readString(err);
        assertThat(log).contains("run: backup-full on", "run: backup-incr on", "backup-incr at ");
        Manifest full = ours.get(0);
        assertThat(full.attributes()).as(log).containsEntry("postgresql.backup_level", "full");
        assertThat(ours.get(1).attributes()).containsEntry("postgresql.backup_level", "incr");
        assertThat(ours.get(1).parent()).contains(full.id());
        assertThat(ours.get(2).attributes()).containsEntry("postgresql.backup_level", "incr");
        assertThat(ours.get(2).parent()).contains(ours.get(1).id());
    }
}
