package dev.backstop.cli.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.cli.CronSchedule;
import dev.backstop.postgres.SslMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackstopConfigTest {
    static final String PASSWORD = "pw-s3cr3t-value";
    static final String WEBHOOK = "https://hooks.slack.example/services/T0/B0/tok3n";

    @TempDir
    Path tmp;

    static String seedTemplate() throws IOException {
        try (var in = Objects.requireNonNull(BackstopConfigTest.class.getResourceAsStream("/seed-template.json"))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static Map<String, String> seedEnv() {
        Map<String, String> env = new HashMap<>();
        env.put("DB_HOST", "db.internal");
        env.put("DB_USER", "backup");
        env.put("DB_PASSWORD", PASSWORD);
        env.put("DB_NAME", "shop");
        env.put("BACKUP_BUCKET", "acme-backups");
        env.put("AWS_REGION", "eu-central-1");
        env.put("KMS_KEY_ID", "arn:aws:kms:eu-central-1:111122223333:key/1234");
        env.put("SLACK_WEBHOOK", WEBHOOK);
        return env;
    }

    static BackstopConfig parse(String json, Map<String, String> env) {
        return ConfigParser.parse(json, false, env);
    }

    @Test
    void seedTemplate_parsesAsWritten() throws IOException {
        BackstopConfig c = parse(seedTemplate(), seedEnv());

        assertThat(c.database()).isEqualTo(new BackstopConfig.Database("postgres", "db.internal", 5432, "backup",
                java.util.Optional.of(Secret.of(PASSWORD)), "shop", java.util.Optional.empty()));
        assertThat(c.storage().s3()).isTrue();
        assertThat(c.storage().bucket()).contains("acme-backups");
        assertThat(c.storage().prefix()).isEqualTo("db-backups/prod");
        assertThat(c.storage().region()).contains("eu-central-1");
        assertThat(c.encryption().kind()).isEqualTo(BackstopConfig.Encryption.Kind.KMS);
        assertThat(c.encryption().kmsKeyId()).contains("arn:aws:kms:eu-central-1:111122223333:key/1234");
        BackstopConfig.Retention r = c.storage().retention().orElseThrow();
        assertThat(r.hot()).contains(Duration.ofDays(30));
        assertThat(r.warm()).contains(Duration.ofDays(90));
        assertThat(r.cold()).contains(Duration.ofDays(365));
        assertThat(r.deleteExpired()).isTrue();
        assertThat(r.policy(ZoneId.of("UTC"))).isPresent();
        assertThat(c.validation().enabled()).isTrue();
        assertThat(c.validation().checks()).containsExactly("checksum", "row-count", "schema-integrity");
        assertThat(c.validation().schedule()).contains(CronSchedule.parse("0 3 * * 0", ZoneId.of("UTC")));
        assertThat(c.observability().metrics()).containsExactly("duration_ms", "size_bytes", "success_rate");
        assertThat(c.observability().webhook().orElseThrow().reveal()).isEqualTo(WEBHOOK);
    }

    @Test
    void observabilityDefaults_areNoEndpointTextLogsAndTheSeedsObjectives() throws IOException {
        BackstopConfig.Observability o = parse(seedTemplate(), seedEnv()).observability();

        assertThat(o.prometheus()).isEmpty();
        assertThat(o.logFormat()).isEqualTo(BackstopConfig.LogFormat.TEXT);
        assertThat(o.slo()).isEqualTo(BackstopConfig.DEFAULT_SLO);
        assertThat(o.slo().successRate()).isEqualTo(0.995);
        assertThat(o.slo().validationPassRate()).isEqualTo(1.0);
    }

    @Test
    void prometheusLogFormatAndObjectives_parse() throws IOException {
        String json = seedTemplate().replace("\"metrics\":", "\"prometheus\": {\"port\": 0}, \"logFormat\": \"json\", "
                + "\"slo\": {\"rpo\": \"6h\", \"rto\": \"30m\", \"successRate\": 99, \"validationPassRate\": \"100\"}, \"metrics\":");
        BackstopConfig.Observability o = parse(json, seedEnv()).observability();

        assertThat(o.prometheus()).contains(new BackstopConfig.Prometheus("0.0.0.0", 0));
        assertThat(o.logFormat()).isEqualTo(BackstopConfig.LogFormat.JSON);
        assertThat(o.slo().rpo()).isEqualTo(Duration.ofHours(6));
        assertThat(o.slo().rto()).isEqualTo(Duration.ofMinutes(30));
        assertThat(o.slo().successRate()).isEqualTo(0.99);
        assertThat(o.slo().validationPassRate()).isEqualTo(1.0);
    }

    @Test
    void badObservabilityValues_nameTheKeyAndWhatIsAllowed() throws IOException {
        assertThatThrownBy(() -> parse(seedTemplate().replace("\"metrics\":", "\"slo\": {\"successRate\": 101}, \"metrics\":"),
                seedEnv())).isInstanceOf(ConfigException.class).hasMessageContaining("backup.observability.slo.successRate")
                .hasMessageContaining("percentage from 0 to 100");
        assertThatThrownBy(() -> parse(seedTemplate().replace("\"metrics\":", "\"prometheus\": {\"port\": 70000}, \"metrics\":"),
                seedEnv())).isInstanceOf(ConfigException.class).hasMessageContaining("backup.observability.prometheus.port");
        assertThatThrownBy(() -> parse(seedTemplate().replace("\"metrics\":", "\"logFormat\": \"xml\", \"metrics\":"),
                seedEnv())).isInstanceOf(ConfigException.class).hasMessageContaining("backup.observability.logFormat");
    }

    @Test
    void secrets_neverAppearInToStringOrSummary() throws IOException {
        BackstopConfig c = parse(seedTemplate(), seedEnv());
        assertThat(c.toString()).doesNotContain(PASSWORD).doesNotContain("tok3n");
        assertThat(c.summary(Instant.parse("2026-12-07T00:00:00Z"))).doesNotContain(PASSWORD).doesNotContain("tok3n")
                .contains("password=(secret)")
                // 2026-12-07 is a Monday: the seeds' weekly drill runs next on Sunday the 13th
                .contains("validation: checks [checksum, row-count, schema-integrity] in isolated-env on cron \"0 3 * * 0\", "
                        + "next at 2026-12-13T03:00Z[UTC]");
    }

    @Test
    void unknownKey_isRefusedNamingItsPathAndTheKeysAllowedThere() throws IOException {
        String typo = seedTemplate().replace("\"deleteExpired\"", "\"deleteExpried\"");
        assertThatThrownBy(() -> parse(typo, seedEnv())).isInstanceOf(ConfigException.class)
                .hasMessage("backup.storage.retention.deleteExpried: unknown key; allowed here: hot, warm, cold, deleteExpired, "
                        + "keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly")
                .extracting(e -> ((ConfigException) e).path()).isEqualTo("backup.storage.retention.deleteExpried");
    }

    @Test
    void badDuration_isRefusedWithTheValueAndTheExpectedForm() throws IOException {
        String bad = seedTemplate().replace("\"30d\"", "\"7x\"");
        assertThatThrownBy(() -> parse(bad, seedEnv()))
                .hasMessage("backup.storage.retention.hot: got \"7x\", expected a duration like \"7d\" (a number followed by s, m, h, d or w)");
    }

    @Test
    void badCron_isRefusedNamingTheKeyAndTheField() throws IOException {
        String bad = seedTemplate().replace("\"0 3 * * 0\"", "\"0 25 * * 0\"");
        assertThatThrownBy(() -> parse(bad, seedEnv())).hasMessageStartingWith("backup.validation.schedule: got \"0 25 * * 0\"")
                .hasMessageContaining("hour \"25\" is not 0-23");
    }

    @Test
    void badValues_nameTheKeyTheValueAndWhatIsAllowed() throws IOException {
        assertThatThrownBy(() -> parse(seedTemplate().replace("5432", "70000"), seedEnv()))
                .hasMessage("backup.database.port: got \"70000\", expected a whole number from 1 to 65535");
        assertThatThrownBy(() -> parse(seedTemplate().replace("\"s3\"", "\"ftp\""), seedEnv()))
                .hasMessage("backup.storage.provider: got \"ftp\", expected one of filesystem, s3");
        assertThatThrownBy(() -> parse(seedTemplate().replace("\"row-count\"", "\"rowcount\""), seedEnv()))
                .hasMessage("backup.validation.checks[1]: got \"rowcount\", expected one of checksum, row-count, schema-integrity");
        assertThatThrownBy(() -> parse(seedTemplate().replace("\"enabled\": true", "\"enabled\": \"yes\""), seedEnv()))
                .hasMessage("backup.validation.enabled: got \"yes\", expected true or false");
        assertThatThrownBy(() -> parse(seedTemplate().replace("\"90d\"", "\"10d\""), seedEnv()))
                .hasMessage("backup.storage.retention.warm: is shorter than hot; expected hot <= warm <= cold (ages)");
    }

    @Test
    void unsetVariable_isNamedWithItsKey_andASecretsValueIsNeverShown() throws IOException {
        Map<String, String> env = seedEnv();
        env.remove("DB_PASSWORD");
        assertThatThrownBy(() -> parse(seedTemplate(), env)).hasMessage("backup.database.password: ${DB_PASSWORD} is not set in the environment");
        Map<String, String> badHook = seedEnv();
        badHook.put("SLACK_WEBHOOK", "slack:tok3n");
        assertThatThrownBy(() -> parse(seedTemplate(), badHook)).hasMessageNotContaining("tok3n")
                .hasMessage("backup.observability.alerts.webhook: expected an http(s) URL (value hidden: it is a secret)");
    }

    @Test
    void fileAndDefaultPlaceholders_readSecretsFromFiles() throws IOException {
        Path pw = tmp.resolve("pw");
        Files.writeString(pw, PASSWORD + "\n");
        String json = seedTemplate().replace("${DB_PASSWORD}", "${file:" + pw + "}").replace("\"port\": 5432", "\"port\": \"${DB_PORT:-6543}\"");
        BackstopConfig c = parse(json, seedEnv());
        assertThat(c.database().password().orElseThrow().reveal()).isEqualTo(PASSWORD);
        assertThat(c.database().port()).isEqualTo(6543);
        String missing = seedTemplate().replace("${DB_PASSWORD}", "${file:" + tmp.resolve("nope") + "}");
        assertThatThrownBy(() -> parse(missing, seedEnv())).hasMessageStartingWith("backup.database.password: ${file:" + tmp.resolve("nope")
                + "}: cannot read");
    }

    @Test
    void encryption_mustBeSaidExplicitly_evenWhenItIsNone() throws IOException {
        String noKms = seedTemplate().replace("\"kmsKeyId\": \"${KMS_KEY_ID}\",", "");
        assertThatThrownBy(() -> parse(noKms, seedEnv())).hasMessageStartingWith("backup.encryption: missing; expected ")
                .hasMessageContaining("\"none\": true");
        BackstopConfig none = parse(noKms.replace("\"storage\":", "\"encryption\": {\"none\": true},\n\"storage\":"), seedEnv());
        assertThat(none.encryption().kind()).isEqualTo(BackstopConfig.Encryption.Kind.NONE);
        assertThatThrownBy(() -> parse(noKms.replace("\"storage\":", "\"encryption\": {\"none\": true, \"keyset\": \"/k\"},\n\"storage\":"), seedEnv()))
                .hasMessageStartingWith("backup.encryption: give exactly one of");
        assertThatThrownBy(() -> parse(seedTemplate().replace("\"storage\":", "\"encryption\": {\"keyset\": \"/k\"},\n\"storage\":"), seedEnv()))
                .hasMessage("backup.storage.kmsKeyId: conflicts with backup.encryption; give the key in one place");
    }

    @Test
    void filesystemRepositoryWithTlsAndGfs_parses() {
        String json = """
                {"backup": {
                  "database": {"type": "postgres", "host": "h", "user": "u", "name": "shop",
                               "tls": {"mode": "require"}},
                  "storage": {"provider": "filesystem", "path": "/var/backups/shop",
                              "retention": {"deleteExpired": true, "keepLast": 7, "keepDaily": 14, "keepMonthly": 12}},
                  "encryption": {"keyset": "/etc/backstop/kek.json"},
                  "schedule": "0 2 * * 1-5", "zone": "Europe/Berlin"}}
                """;
        BackstopConfig c = parse(json, Map.of());
        assertThat(c.database().tls().orElseThrow().mode()).isEqualTo(SslMode.REQUIRE);
        assertThat(c.storage().path()).contains(Path.of("/var/backups/shop"));
        assertThat(c.storage().retention().orElseThrow().keepDaily()).isEqualTo(14);
        assertThat(c.schedule()).contains(CronSchedule.parse("0 2 * * 1-5", ZoneId.of("Europe/Berlin")));
        assertThat(c.validation().enabled()).isFalse();
        assertThatThrownBy(() -> parse(json.replace("\"path\"", "\"bucket\": \"b\", \"path\""), Map.of()))
                .hasMessageStartingWith("backup.storage.bucket: unknown key; allowed here:");
        assertThatThrownBy(() -> parse(json.replace("\"require\"", "\"verify-full\""), Map.of()))
                .hasMessageStartingWith("backup.database.tls: ");
    }

    @Test
    void yaml_isReadLikeJson() throws IOException {
        String yaml = """
                backup:
                  database: {type: postgres, host: h, user: u, password: "${DB_PASSWORD}", name: shop}
                  storage:
                    provider: filesystem
                    path: /var/backups/shop
                    retention: {cold: 365d, deleteExpired: true}
                  encryption: {none: true}
                """;
        Path file = tmp.resolve("backstop.yaml");
        Files.writeString(file, yaml);
        BackstopConfig c = BackstopConfig.load(file, Map.of("DB_PASSWORD", PASSWORD));
        assertThat(c.database().password().orElseThrow().reveal()).isEqualTo(PASSWORD);
        assertThat(c.storage().retention().orElseThrow().cold()).contains(Duration.ofDays(365));
        Files.writeString(file, yaml.replace("cold: 365d", "cold: 365d, colder: 1d"));
        assertThatThrownBy(() -> BackstopConfig.load(file, Map.of("DB_PASSWORD", PASSWORD)))
                .hasMessageStartingWith("backup.storage.retention.colder: unknown key");
    }

    @Test
    void malformedFile_namesTheLine() {
        assertThatThrownBy(() -> parse("{\"backup\": {\n\"database\": }", Map.of())).hasMessageStartingWith("not valid JSON: ")
                .hasMessageContaining("line 2");
        assertThatThrownBy(() -> parse("[]", Map.of())).hasMessage("got a list, expected an object { ... }");
        assertThatThrownBy(() -> parse("{}", Map.of())).hasMessage("backup: missing; expected an object { ... }");
    }

    static String minimal(String extra) {
        return "{\"backup\": {\"database\": {\"type\": \"postgres\", \"host\": \"h\", \"user\": \"u\", \"name\": \"n\"}, "
                + "\"storage\": {\"provider\": \"filesystem\", \"path\": \"/var/backups\"}, \"encryption\": {\"none\": true}"
                + extra + "}}";
    }

    @Test
    void wal_readsEverySetting_withSubSecondDurations() {
        BackstopConfig c = parse(minimal(", \"wal\": {\"systemId\": \"18446744073709551615\", \"spool\": \"/var/spool/wal\", "
                + "\"drainer\": \"external\", \"drainBackoffMin\": \"250ms\", \"drainBackoffMax\": \"2m\", \"drainIdleExit\": \"30s\", "
                + "\"getQueue\": \"/var/wal-queue\", \"getQueueMax\": \"64MiB\"}"), Map.of());

        BackstopConfig.Wal w = c.wal().orElseThrow();
        assertThat(w.systemId()).contains(-1L);
        assertThat(w.spool()).contains(Path.of("/var/spool/wal"));
        assertThat(w.spawnDrainer()).isFalse();
        assertThat(w.drainBackoffMin()).isEqualTo(Duration.ofMillis(250));
        assertThat(w.drainBackoffMax()).isEqualTo(Duration.ofMinutes(2));
        assertThat(w.drainIdleExit()).isEqualTo(Duration.ofSeconds(30));
        assertThat(w.getQueue()).contains(Path.of("/var/wal-queue"));
        assertThat(w.getQueueMax().bytes()).isEqualTo(64L << 20);
    }

    @Test
    void wal_backoffMaxBelowMin_isRefusedNamingTheKey() {
        assertThatThrownBy(() -> parse(minimal(", \"wal\": {\"drainBackoffMin\": \"10s\", \"drainBackoffMax\": \"1s\"}"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("backup.wal.drainBackoffMax: ");
    }

    @Test
    void replicas_withATypo_isRefusedNamingTheKeyPath() {
        assertThatThrownBy(() -> parse(minimal(", \"replicas\": [{\"name\": \"dr\", \"provider\": \"filesystem\", \"pth\": \"/dr\"}]"),
                Map.of())).isInstanceOf(ConfigException.class).hasMessageStartingWith("backup.replicas[0].");
    }

    @Test
    void replicas_withTheSameNameTwice_isRefused() {
        String dr = "{\"name\": \"dr\", \"provider\": \"filesystem\", \"path\": \"/dr\"}";

        assertThatThrownBy(() -> parse(minimal(", \"replicas\": [" + dr + ", " + dr + "]"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("backup.replicas[1].name: got \"dr\"");
    }

    @Test
    void replicas_areReadInOrder() {
        BackstopConfig c = parse(minimal(", \"replicas\": [{\"name\": \"dr\", \"provider\": \"filesystem\", \"path\": \"/dr\"}, "
                + "{\"name\": \"eu\", \"provider\": \"s3\", \"bucket\": \"b\", \"region\": \"eu-west-1\"}]"), Map.of());

        assertThat(c.replicas()).extracting(BackstopConfig.Replica::name).containsExactly("dr", "eu");
        assertThat(c.replicas().get(1).storage().s3()).isTrue();
    }

    @Test
    void jitterAndMissedRuns_parseForBackupsAndDrills_andDefaultToNoneAndSkip() {
        BackstopConfig c = parse(minimal(", \"schedule\": \"0 2 * * *\", \"jitter\": \"5m\", \"missedRuns\": \"runOnce\", "
                + "\"validation\": {\"schedule\": \"0 3 * * 0\", \"jitter\": \"90s\"}"), Map.of());

        assertThat(c.backupTiming()).isEqualTo(new BackstopConfig.Timing(Duration.ofMinutes(5), dev.backstop.cli.Daemon.MissedRuns.RUN_ONCE));
        assertThat(c.validation().timing()).isEqualTo(new BackstopConfig.Timing(Duration.ofSeconds(90), dev.backstop.cli.Daemon.MissedRuns.SKIP));
        assertThat(c.summary(Instant.parse("2026-12-07T00:00:00Z"))).contains("jitter up to PT5M, one catch-up run after missed ticks");
        assertThat(parse(minimal(", \"schedule\": \"0 2 * * *\""), Map.of()).backupTiming()).isEqualTo(BackstopConfig.Timing.NONE);
    }

    @Test
    void aJitterBeyondSixHoursOrAnUnknownMissedRunsPolicy_isRefusedNamingTheKey() {
        assertThatThrownBy(() -> parse(minimal(", \"jitter\": \"7h\""), Map.of())).isInstanceOf(ConfigException.class)
                .hasMessageContaining("backup.jitter").hasMessageContaining("7h").hasMessageContaining("from 0 to 6h");
        assertThatThrownBy(() -> parse(minimal(", \"validation\": {\"jitter\": \"soon\"}"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("backup.validation.jitter");
        assertThatThrownBy(() -> parse(minimal(", \"missedRuns\": \"all\""), Map.of())).isInstanceOf(ConfigException.class)
                .hasMessageContaining("backup.missedRuns").hasMessageContaining("runOnce");
    }

    @Test
    void walReceive_readsItsSlotAndWorkDirectory_andNeedsTheSystemId() {
        BackstopConfig c = parse(minimal(", \"wal\": {\"systemId\": \"7312345678901234567\", "
                + "\"receive\": {\"workDir\": \"/var/lib/backstop/wal-receive\"}}"), Map.of());
        assertThat(c.wal().orElseThrow().receive()).contains(new BackstopConfig.Receive("backstop",
                java.nio.file.Path.of("/var/lib/backstop/wal-receive")));
        assertThat(c.summary(Instant.parse("2026-12-07T00:00:00Z")))
                .contains("received by backstop run over slot backstop into work directory /var/lib/backstop/wal-receive");

        assertThatThrownBy(() -> parse(minimal(", \"wal\": {\"systemId\": \"1\", \"receive\": {\"slot\": \"s\"}}"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("backup.wal.receive.workDir");
        assertThatThrownBy(() -> parse(minimal(", \"wal\": {\"systemId\": \"1\", \"receive\": {\"slot\": \"Bad-Slot\", "
                + "\"workDir\": \"/w\"}}"), Map.of())).isInstanceOf(ConfigException.class)
                .hasMessageContaining("backup.wal.receive.slot").hasMessageContaining("Bad-Slot");
        assertThatThrownBy(() -> parse(minimal(", \"wal\": {\"receive\": {\"workDir\": \"/w\"}}"), Map.of()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("backup.wal.systemId");
    }
}
