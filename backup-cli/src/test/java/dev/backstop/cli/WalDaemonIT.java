package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.postgres.EphemeralPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code backstop run} with {@code backup.wal.receive}: two daemons of the built launcher on one
 * repository, one streaming the server's WAL into it and the other standing by, both stopped by
 * SIGTERM.
 */
class WalDaemonIT {
    Path base;
    EphemeralPostgres pg;
    Process a;
    Process b;

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : new Process[] {a, b}) {
            if (p != null) {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
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

    Process daemon(Path cfg, Path err) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(CliIT.LAUNCHER.toString(), "run", "--config", cfg.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("JAVA_HOME") && !k.equals("HOME"));
        return pb.start();
    }

    static void awaitLog(Process p, Path err, String text) throws Exception {
        Instant deadline = Instant.now().plusSeconds(60);
        while (!Files.readString(err).contains(text)) {
            assertThat(p.isAlive()).as("the daemon runs; its stderr:%n%s", Files.readString(err)).isTrue();
            assertThat(Instant.now()).as("\"%s\" logged by now; stderr:%n%s", text, Files.readString(err)).isBefore(deadline);
            p.waitFor(100, TimeUnit.MILLISECONDS);
        }
    }

    static boolean archived(Path repo, String sysid, String segment) throws Exception {
        Path wal = repo.resolve("wal").resolve(sysid);
        if (!Files.isDirectory(wal)) {
            return false;
        }
        try (Stream<Path> all = Files.walk(wal)) {
            return all.anyMatch(p -> p.getFileName().toString().startsWith(segment));
        }
    }

    @Test
    void run_withWalReceive_streamsSegmentsIntoTheRepository_oneDaemonAtATime_andStopsCleanlyOnSigterm() throws Exception {
        base = Files.createTempDirectory("backstop-wal-daemon-it-");
        pg = EphemeralPostgres.start();
        String sysid = PitrIT.value(pg, "SELECT system_identifier FROM pg_control_system()");
        Path repo = base.resolve("repo");
        Path cfg = base.resolve("backstop.json");
        Files.writeString(cfg, """
                {"backup": {
                  "database": {"type": "postgres", "host": "127.0.0.1", "port": %d, "user": "postgres", "password": "%s",
                               "name": "postgres"},
                  "storage": {"provider": "filesystem", "path": "%s"},
                  "encryption": {"keyset": "%s"},
                  "wal": {"systemId": "%s", "receive": {"slot": "backstop_run", "workDir": "%s"}}
                }}
                """.formatted(pg.endpoint().port(), pg.endpoint().password(), repo, base.resolve("kek.json"), sysid,
                base.resolve("receive")));
        assertThat(CliIT.run(Map.of(), "keys", "create", "--config", cfg.toString()).code()).isZero();

        Path errA = base.resolve("a.err");
        Path errB = base.resolve("b.err");
        a = daemon(cfg, errA);
        awaitLog(a, errA, "holds the lease");
        b = daemon(cfg, errB);
        awaitLog(b, errB, "standing by");

        PitrIT.sql(pg, "CREATE TABLE marker AS SELECT g AS id FROM generate_series(1, 10000) g");
        String last = PitrIT.value(pg, "SELECT pg_walfile_name(pg_switch_wal())");
        Instant deadline = Instant.now().plusSeconds(120);
        // each look walks the repository's WAL directory: a system call, not a spin
        while (!archived(repo, sysid, last)) {
            assertThat(a.isAlive()).as("the daemon runs; its stderr:%n%s", Files.readString(errA)).isTrue();
            assertThat(Instant.now()).as("%s received into the repository; stderr:%n%s", last, Files.readString(errA))
                    .isBefore(deadline);
            a.waitFor(200, TimeUnit.MILLISECONDS);
        }

        a.destroy(); // SIGTERM
        b.destroy();
        assertThat(a.waitFor(60, TimeUnit.SECONDS) && b.waitFor(60, TimeUnit.SECONDS)).as("stopped").isTrue();
        String logA = Files.readString(errA);
        String logB = Files.readString(errB);
        assertThat(a.exitValue()).as(logA).isEqualTo(Backstop.STOPPED);
        assertThat(b.exitValue()).as(logB).isEqualTo(Backstop.STOPPED);
        assertThat(logA).contains("wal receive wal/" + sysid + " over slot backstop_run: holds the lease", "run: stopped");
        assertThat(logB).doesNotContain("holds the lease").contains("run: stopped");
        assertThat((logA + logB).lines().filter(l -> l.contains(" WARN ") || l.contains(" ERROR ")))
                .as("nothing warned").isEmpty();
        assertThat(PitrIT.value(pg, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'backstop_run' AND NOT active"))
                .as("the slot is kept for the next daemon, and released").isEqualTo("1");
    }
}
