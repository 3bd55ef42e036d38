package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.cli.config.BackstopConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code backup.schedules}: the daemon's jobs per level, and what {@code config check} prints of them. */
class LevelScheduleTest {
    @TempDir
    Path tmp;
    final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void tearDown() {
        executor.shutdownNow();
    }

    Path config() throws Exception {
        Path file = tmp.resolve("backstop.json");
        Files.writeString(file, """
                {"backup": {
                  "database": {"type": "postgres", "host": "127.0.0.1", "user": "backup", "password": "pw-s3cr3t",
                               "name": "shop", "mode": "physical", "dataDirectory": "/var/lib/postgresql/15/main"},
                  "storage": {"provider": "filesystem", "path": "%s"},
                  "encryption": {"keyset": "%s"},
                  "schedules": {"full": "0 1 * * 0", "diff": "0 1 * * 1-6", "incr": "0 7-23 * * *"},
                  "chainLimit": 7, "rateLimit": "50MiB/s",
                  "validation": {"kind": "physical", "schedule": "0 3 * * 0"}
                }}
                """.formatted(tmp.resolve("repo"), tmp.resolve("kek.json")));
        return file;
    }

    @Test
    void oneSchedulePerLevel_becomesOneBackupJobPerLevel_besideTheDrill() throws Exception {
        Path cfg = config();
        StringWriter out = new StringWriter();
        assertThat(Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, Map.of(),
                new PrintWriter(out), new PrintWriter(out))).as("%s", out).isZero();
        try (Context ctx = new Context(BackstopConfig.load(cfg, Map.of()))) {
            Daemon d = Run.daemon(ctx, executor, executor, Clock.systemUTC(), () -> false, new SimpleMeterRegistry());

            assertThat(d.jobs()).containsOnlyKeys("backup-full", "backup-diff", "backup-incr", "drill");
            assertThat(((CronSchedule) d.jobs().get("backup-diff").schedule()).expression()).isEqualTo("0 1 * * 1-6");
            // Monday 2026-12-07: the next full is Sunday's, the next diff Tuesday's, the next incr at 07:00
            Instant monday = Instant.parse("2026-12-07T02:00:00Z");
            assertThat(d.jobs().get("backup-full").schedule().next(monday)).isEqualTo(Instant.parse("2026-12-13T01:00:00Z"));
            assertThat(d.jobs().get("backup-diff").schedule().next(monday)).isEqualTo(Instant.parse("2026-12-08T01:00:00Z"));
            assertThat(d.jobs().get("backup-incr").schedule().next(monday)).isEqualTo(Instant.parse("2026-12-07T07:00:00Z"));
        }
    }

    @Test
    void configCheck_printsTheLevelsLimitsAndDrillKind_withoutThePassword() throws Exception {
        Path cfg = config();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Backstop.execute(new String[] {"keys", "create", "--config", cfg.toString()}, Map.of(), new PrintWriter(out),
                new PrintWriter(err));
        out.getBuffer().setLength(0);

        int code = Backstop.execute(new String[] {"config", "check", "--config", cfg.toString()}, Map.of(), new PrintWriter(out),
                new PrintWriter(err));

        assertThat(code).as("%s", err).isZero();
        assertThat(out.toString()).contains("mode=physical dataDirectory=/var/lib/postgresql/15/main",
                "capture:    level full, chain limit 7, rate limit reads 50.0 MiB/s",
                "schedule:   full backups on cron \"0 1 * * 0\"", "schedule:   diff backups on cron \"0 1 * * 1-6\"",
                "schedule:   incr backups on cron \"0 7-23 * * *\"", "validation: physical drill, checks")
                .doesNotContain("pw-s3cr3t");
    }
}
