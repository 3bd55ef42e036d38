package dev.backstop.cli.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.cli.CronSchedule;
import dev.backstop.core.DataSize;
import dev.backstop.postgres.physical.BackupLevel;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The keys of PostgreSQL physical backups, their levels and schedules, the rate limit and the drill's kind. */
class PhysicalConfigTest {
    static final String PASSWORD = "pw-s3cr3t-value";
    static final Map<String, String> ENV = Map.of("DB_PASSWORD", PASSWORD);

    /** A physical PostgreSQL configuration with {@code extra} keys of backup and {@code validation} as its validation section. */
    static String config(String database, String extra, String validation) {
        return """
                {"backup": {
                  "database": {"type": "postgres", "host": "127.0.0.1", "user": "backup", "password": "${DB_PASSWORD}",
                               "name": "shop"%s},
                  "storage": {"provider": "filesystem", "path": "/var/backups/backstop"},
                  "encryption": {"keyset": "/etc/backstop/kek.json"}%s%s
                }}
                """.formatted(database, extra.isEmpty() ? "" : ",\n" + extra, validation.isEmpty() ? "" : ",\n\"validation\": " + validation);
    }

    static final String PHYSICAL = ", \"mode\": \"physical\", \"dataDirectory\": \"/var/lib/postgresql/15/main\"";

    static BackstopConfig parse(String json) {
        return ConfigParser.parse(json, false, ENV);
    }

    static ConfigException failure(String json) {
        try {
            parse(json);
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("expected a ConfigException for " + json);
    }

    @Test
    void physicalWithLevelSchedulesChainLimitAndRateLimit_parses() {
        BackstopConfig c = parse(config(PHYSICAL, """
                "schedules": {"full": "0 1 * * 0", "diff": "0 1 * * 1-6", "incr": "0 7-23 * * *"},
                "chainLimit": 10, "rateLimit": "50MiB/s\"""", ""));

        assertThat(c.database().mode()).isEqualTo(BackstopConfig.Mode.PHYSICAL);
        assertThat(c.database().dataDirectory()).contains(Path.of("/var/lib/postgresql/15/main"));
        Capture k = c.capture();
        assertThat(k.schedules()).containsOnlyKeys(BackupLevel.FULL, BackupLevel.DIFF, BackupLevel.INCR);
        assertThat(k.schedules().get(BackupLevel.DIFF)).isEqualTo(CronSchedule.parse("0 1 * * 1-6", ZoneId.of("UTC")));
        assertThat(k.chainLimit()).isEqualTo(10);
        assertThat(k.rateLimit()).contains(new Capture.Rate(Optional.of(DataSize.ofMiB(50)), Optional.empty()));
        assertThat(k.rateLimit().orElseThrow().toRateLimit().readsPerSecond()).contains(DataSize.ofMiB(50));
        assertThat(c.schedule()).isEmpty();
    }

    @Test
    void theSameInYaml_parsesToTheSameConfiguration() {
        String yaml = """
                backup:
                  database: {type: postgres, host: 127.0.0.1, user: backup, password: "${DB_PASSWORD}", name: shop,
                             mode: physical, dataDirectory: /var/lib/postgresql/15/main}
                  storage: {provider: filesystem, path: /var/backups/backstop}
                  encryption: {keyset: /etc/backstop/kek.json}
                  schedules: {full: "0 1 * * 0", diff: "0 1 * * 1-6", incr: "0 7-23 * * *"}
                  chainLimit: 10
                  rateLimit: 50MiB/s
                """;
        BackstopConfig json = parse(config(PHYSICAL, """
                "schedules": {"full": "0 1 * * 0", "diff": "0 1 * * 1-6", "incr": "0 7-23 * * *"},
                "chainLimit": 10, "rateLimit": "50MiB/s\"""", ""));

        assertThat(ConfigParser.parse(yaml, true, ENV)).isEqualTo(json);
    }

    @Test
    void defaults_areFullBackupsChainsOfSevenAndNoLimit() {
        BackstopConfig c = parse(config(PHYSICAL, "", ""));

        assertThat(c.capture()).isEqualTo(Capture.DEFAULT);
        assertThat(c.capture().chainLimit()).isEqualTo(7);
        assertThat(c.validation().kind()).isEqualTo(BackstopConfig.DrillKind.AUTO);
        assertThat(parse(config("", "", "")).database().mode()).isEqualTo(BackstopConfig.Mode.LOGICAL);
    }

    @Test
    void rateLimit_acceptsBinaryAndDecimalUnits_andSeparateReadAndUploadLimits() {
        assertThat(parse(config("", "\"rateLimit\": \"1.5 GiB/s\"", "")).capture().rateLimit().orElseThrow().reads())
                .contains(DataSize.ofBytes(1536L << 20));
        assertThat(parse(config("", "\"rateLimit\": \"800kB/s\"", "")).capture().rateLimit().orElseThrow().reads())
                .contains(DataSize.ofBytes(800_000));
        Capture.Rate both = parse(config("", "\"rateLimit\": {\"reads\": \"100MB/s\", \"uploads\": \"20MiB/s\"}", ""))
                .capture().rateLimit().orElseThrow();
        assertThat(both).isEqualTo(new Capture.Rate(Optional.of(DataSize.ofBytes(100_000_000)), Optional.of(DataSize.ofMiB(20))));
        assertThat(both.toString()).isEqualTo("reads 95.4 MiB/s, uploads 20.0 MiB/s");
    }

    @Test
    void rateLimit_withAnUnknownUnit_failsNamingTheKeyTheValueAndTheUnitsAllowed() {
        assertThat(failure(config("", "\"rateLimit\": \"50Mb/s\"", "")).getMessage())
                .startsWith("backup.rateLimit: got \"50Mb/s\", expected a known unit, but \"Mb\" is none (bits?); a rate like "
                        + "\"50MiB/s\": a number, one of the units B, KiB, MiB, GiB, kB, MB, GB");
        assertThat(failure(config("", "\"rateLimit\": \"50MiB\"", "")).getMessage())
                .startsWith("backup.rateLimit: got \"50MiB\", expected a rate like \"50MiB/s\"");
        assertThat(failure(config("", "\"rateLimit\": \"10B/s\"", "")).getMessage())
                .contains("backup.rateLimit: got \"10B/s\"", "at least 1 KiB/s");
        assertThat(failure(config("", "\"rateLimit\": {\"read\": \"5MiB/s\"}", "")).getMessage())
                .isEqualTo("backup.rateLimit.read: unknown key; allowed here: reads, uploads");
    }

    @Test
    void increments_withoutADataDirectory_failNamingTheKeysToSet() {
        assertThat(failure(config(", \"mode\": \"physical\"", "\"level\": \"incr\"", "")).getMessage())
                .startsWith("backup.level: asks for diff or incr backups, which read a PostgreSQL data directory: set "
                        + "backup.database.mode to \"physical\" and backup.database.dataDirectory");
        assertThat(failure(config("", "\"schedules\": {\"full\": \"0 1 * * 0\", \"incr\": \"0 * * * *\"}", "")).path())
                .isEqualTo("backup.schedules");
        assertThat(failure(config(", \"dataDirectory\": \"/var/lib/postgresql/15/main\"", "\"level\": \"diff\"", ""))
                .getMessage()).contains("backup.database.mode is logical");
        assertThat(failure(config("", "\"chainLimit\": 5", "")).path()).isEqualTo("backup.chainLimit");
    }

    @Test
    void badLevelsChainLimitsAndScheduleCombinations_failNamingTheKey() {
        assertThat(failure(config(PHYSICAL, "\"level\": \"incremental\"", "")).getMessage())
                .isEqualTo("backup.level: got \"incremental\", expected one of diff, full, incr");
        assertThat(failure(config(PHYSICAL, "\"chainLimit\": 0", "")).getMessage())
                .isEqualTo("backup.chainLimit: got \"0\", expected a whole number from 1 to 100");
        assertThat(failure(config(PHYSICAL, "\"schedule\": \"0 1 * * *\", \"schedules\": {\"full\": \"0 1 * * 0\"}", ""))
                .getMessage()).startsWith("backup.schedules: conflicts with backup.schedule");
        assertThat(failure(config(PHYSICAL, "\"level\": \"incr\", \"schedules\": {\"full\": \"0 1 * * 0\"}", "")).path())
                .isEqualTo("backup.level");
        assertThat(failure(config(PHYSICAL, "\"schedules\": {\"incr\": \"0 * * * *\"}", "")).getMessage())
                .startsWith("backup.schedules.full: missing; expected a cron expression for the full backups");
        assertThat(failure(config(PHYSICAL, "\"schedules\": {\"full\": \"0 1 * * 0\", \"weekly\": \"0 1 * * 0\"}", ""))
                .getMessage()).isEqualTo("backup.schedules.weekly: unknown key; allowed here: full, diff, incr");
        assertThat(failure(config(PHYSICAL, "\"schedules\": {\"full\": \"0 25 * * 0\"}", "")).getMessage())
                .startsWith("backup.schedules.full: got \"0 25 * * 0\", expected a cron expression");
        assertThat(failure(config(", \"mode\": \"offline\"", "", "")).getMessage())
                .isEqualTo("backup.database.mode: got \"offline\", expected one of logical, physical");
        assertThat(failure(config(", \"dataDirectory\": \"pgdata\"", "", "")).getMessage())
                .startsWith("backup.database.dataDirectory: got \"pgdata\", expected an absolute path");
    }

    @Test
    void validationKind_selectsTheDrill_andTheSeedsChecksStillParse() {
        BackstopConfig.Validation pitr = parse(config(PHYSICAL, "", """
                {"enabled": true, "restoreTarget": "isolated-env", "checks": ["checksum", "row-count", "schema-integrity"],
                 "schedule": "0 3 * * 0", "kind": "pitr", "restorePoint": "nightly-check"}""")).validation();
        assertThat(pitr.kind()).isEqualTo(BackstopConfig.DrillKind.PITR);
        assertThat(pitr.restorePoint()).contains("nightly-check");
        assertThat(pitr.checks()).containsExactly("checksum", "row-count", "schema-integrity");
        assertThat(pitr.toString()).isEqualTo("pitr drill to restore point nightly-check, checks [checksum, row-count, "
                + "schema-integrity] in isolated-env on cron \"0 3 * * 0\"");
        assertThat(parse(config(PHYSICAL, "", "{\"kind\": \"pitr\", \"restorePoint\": \"nightly-*\"}")).validation()
                .restorePoint()).as("the newest point of a prefix").contains("nightly-*");
        assertThat(parse(config(PHYSICAL, "", "{\"kind\": \"physical\"}")).validation().kind())
                .isEqualTo(BackstopConfig.DrillKind.PHYSICAL);
    }

    @Test
    void validationKind_badValuesAndCombinations_failNamingTheKey() {
        assertThat(failure(config(PHYSICAL, "", "{\"kind\": \"full\"}")).getMessage())
                .isEqualTo("backup.validation.kind: got \"full\", expected one of auto, logical, physical, pitr");
        assertThat(failure(config(PHYSICAL, "", "{\"kind\": \"pitr\"}")).getMessage())
                .startsWith("backup.validation.restorePoint: missing; expected the name of a restore point");
        assertThat(failure(config(PHYSICAL, "", "{\"kind\": \"physical\", \"restorePoint\": \"x\"}")).getMessage())
                .startsWith("backup.validation.restorePoint: goes with \"kind\": \"pitr\"");
        assertThat(failure(config(PHYSICAL, "", "{\"kind\": \"pitr\", \"restorePoint\": \"no spaces\"}")).getMessage())
                .startsWith("backup.validation.restorePoint: got \"no spaces\", expected a restore point name");
        String mariadb = """
                {"backup": {"database": {"type": "mariadb", "host": "db", "user": "backup", "mode": "physical"%s},
                  "storage": {"provider": "filesystem", "path": "/b"}, "encryption": {"none": true}%s}}""";
        assertThat(failure(mariadb.formatted(", \"dataDirectory\": \"/var/lib/mysql\"", "")).getMessage())
                .startsWith("backup.database.dataDirectory: is for PostgreSQL physical backups");
        assertThat(failure(mariadb.formatted("", ", \"validation\": {\"kind\": \"pitr\", \"restorePoint\": \"p\"}")).getMessage())
                .startsWith("backup.validation.kind: is pitr, a PostgreSQL drill through the WAL archive, but backup.database is mariadb");
        assertThat(failure(mariadb.formatted("", ", \"level\": \"incr\"")).getMessage())
                .contains("backup.level: asks for diff or incr backups", "(MariaDB/MySQL backups are full)");
    }

    @Test
    void summary_printsLevelsSchedulesLimitsAndTheDrillKind_withoutTheSecret() {
        BackstopConfig c = parse(config(PHYSICAL, """
                "schedules": {"full": "0 1 * * 0", "incr": "0 * * * *"}, "chainLimit": 5,
                "rateLimit": {"reads": "50MiB/s", "uploads": "20MiB/s"}""", "{\"kind\": \"physical\", \"schedule\": \"0 3 * * 0\"}"));

        String s = c.summary(Instant.parse("2026-12-07T09:30:00Z"));

        assertThat(s).contains("mode=physical dataDirectory=/var/lib/postgresql/15/main",
                "capture:    level full, chain limit 5, rate limit reads 50.0 MiB/s, uploads 20.0 MiB/s",
                "schedule:   full backups on cron \"0 1 * * 0\" in UTC, next at 2026-12-13T01:00Z[UTC]",
                "schedule:   incr backups on cron \"0 * * * *\" in UTC, next at 2026-12-07T10:00Z[UTC]",
                "validation: physical drill, checks");
        assertThat(s).doesNotContain(PASSWORD);
    }
}
