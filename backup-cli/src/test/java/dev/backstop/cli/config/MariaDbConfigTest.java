package dev.backstop.cli.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code backup.database} for MariaDB and MySQL, by keys or by URL, and {@code backup.binlog}. */
class MariaDbConfigTest {
    static final String PASSWORD = "maria-s3cr3t";

    static String config(String database, String extra) {
        return "{\"backup\": {\"database\": " + database + ", "
                + "\"storage\": {\"provider\": \"filesystem\", \"path\": \"/var/backups\"}, \"encryption\": {\"none\": true}"
                + extra + "}}";
    }

    static BackstopConfig parse(String json) {
        return ConfigParser.parse(json, false, Map.of("DB_PASSWORD", PASSWORD));
    }

    @Test
    void mariadbByKeys_parsesWithItsDefaultPortAndLogicalMode() {
        BackstopConfig.Database db = parse(config("{\"type\": \"mariadb\", \"host\": \"db1\", \"user\": \"backup\", "
                + "\"password\": \"${DB_PASSWORD}\", \"name\": \"shop\"}", "")).database();

        assertThat(db).isEqualTo(new BackstopConfig.Database("mariadb", "db1", 3306, "backup", Optional.of(Secret.of(PASSWORD)),
                "shop", Optional.empty(), BackstopConfig.Mode.LOGICAL, Optional.empty(), Optional.empty()));
        assertThat(db.mariadb()).isTrue();
    }

    @Test
    void mariadbByUrl_takesHostPortUserPasswordAndDatabaseFromIt_andKeepsThePasswordSecret() {
        BackstopConfig c = parse(config("{\"url\": \"mysql://backup:${DB_PASSWORD}@[::1]:3307/shop\", \"mode\": \"physical\", "
                + "\"jobs\": 4, \"workDir\": \"/var/tmp/backstop\"}", ""));

        BackstopConfig.Database db = c.database();
        assertThat(db.type()).isEqualTo("mysql");
        assertThat(db.host()).isEqualTo("::1");
        assertThat(db.port()).isEqualTo(3307);
        assertThat(db.user()).isEqualTo("backup");
        assertThat(db.password()).contains(Secret.of(PASSWORD));
        assertThat(db.name()).isEqualTo("shop");
        assertThat(db.mode()).isEqualTo(BackstopConfig.Mode.PHYSICAL);
        assertThat(db.jobs()).contains(4);
        assertThat(db.workDir()).contains(Path.of("/var/tmp/backstop"));
        assertThat(c.summary(Instant.parse("2026-12-07T00:00:00Z"))).contains("mysql backup@::1:3307/shop", "mode=physical")
                .doesNotContain(PASSWORD);
        assertThat(c.toString()).doesNotContain(PASSWORD);
    }

    @Test
    void physicalMode_needsNoDatabaseName() {
        BackstopConfig.Database db = parse(config("{\"url\": \"mariadb://root@127.0.0.1\", \"mode\": \"physical\"}", "")).database();

        assertThat(db.name()).isEmpty();
        assertThat(db.port()).isEqualTo(3306);
    }

    @Test
    void aTypoUnderTheMariaDbSettings_isRefusedNamingTheKeyAndTheKeysAllowed() {
        assertThatThrownBy(() -> parse(config("{\"type\": \"mariadb\", \"host\": \"db1\", \"user\": \"u\", \"name\": \"shop\", "
                + "\"jbos\": 4}", ""))).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("backup.database.jbos: unknown key; allowed here: ")
                .hasMessageContaining("mode").hasMessageContaining("jobs").hasMessageContaining("workDir");
    }

    @Test
    void badMariaDbValues_nameTheKeyTheValueAndWhatIsAllowed() {
        assertThatThrownBy(() -> parse(config("{\"type\": \"mariadb\", \"host\": \"h\", \"user\": \"u\", \"name\": \"s\", "
                + "\"mode\": \"incremental\"}", ""))).isInstanceOf(ConfigException.class)
                .hasMessage("backup.database.mode: got \"incremental\", expected one of logical, physical");
        assertThatThrownBy(() -> parse(config("{\"type\": \"mariadb\", \"host\": \"h\", \"user\": \"u\", \"name\": \"s\", "
                + "\"jobs\": 65}", ""))).hasMessage("backup.database.jobs: got \"65\", expected a whole number from 1 to 64");
        assertThatThrownBy(() -> parse(config("{\"type\": \"oracle\", \"host\": \"h\", \"user\": \"u\", \"name\": \"s\"}", "")))
                .hasMessage("backup.database.type: got \"oracle\", expected one of mariadb, mysql, postgres, postgresql");
        assertThatThrownBy(() -> parse(config("{\"type\": \"mariadb\", \"host\": \"h\", \"user\": \"u\", \"name\": \"s\", "
                + "\"tls\": {\"mode\": \"require\"}}", ""))).hasMessageStartingWith("backup.database.tls: is for PostgreSQL");
        assertThatThrownBy(() -> parse(config("{\"type\": \"postgres\", \"host\": \"h\", \"user\": \"u\", \"name\": \"s\", "
                + "\"mode\": \"offline\"}", ""))).hasMessageStartingWith("backup.database.mode: got \"offline\"");
        assertThatThrownBy(() -> parse(config("{\"type\": \"mariadb\", \"host\": \"h\", \"user\": \"u\"}", "")))
                .hasMessageStartingWith("backup.database.name: missing");
    }

    @Test
    void badUrls_areRefusedWithoutShowingThem() {
        assertThatThrownBy(() -> parse(config("{\"url\": \"oracle://u:${DB_PASSWORD}@h/s\"}", ""))).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("backup.database.url: has scheme \"oracle\"").hasMessageNotContaining(PASSWORD);
        assertThatThrownBy(() -> parse(config("{\"url\": \"mariadb://u:${DB_PASSWORD}@h/s\", \"host\": \"other\"}", "")))
                .hasMessageStartingWith("backup.database.host: conflicts with url").hasMessageNotContaining(PASSWORD);
        assertThatThrownBy(() -> parse(config("{\"url\": \"mariadb://u:${DB_PASSWORD}@h/s\", \"type\": \"postgres\"}", "")))
                .hasMessageStartingWith("backup.database.type: is \"postgres\" but url is a mariadb URL");
        assertThatThrownBy(() -> parse(config("{\"url\": \"mariadb://h:3306/s\"}", "")))
                .hasMessageStartingWith("backup.database.url: names no user");
    }

    @Test
    void binlog_readsEverySetting() {
        BackstopConfig.Binlog b = parse(config("{\"url\": \"mariadb://u@h/s\"}", ", \"binlog\": {\"serverId\": 7, "
                + "\"archive\": \"orders-db\", \"spool\": \"/var/lib/backstop/binlog\", \"startFile\": \"mariadb-bin.000003\", "
                + "\"deltas\": false, \"pollInterval\": \"500ms\", \"acceptGaps\": true}")).binlog().orElseThrow();

        assertThat(b).isEqualTo(new BackstopConfig.Binlog(Optional.of(7L), Optional.of("orders-db"), Path.of("/var/lib/backstop/binlog"),
                Optional.of("mariadb-bin.000003"), false, Duration.ofMillis(500), true));
    }

    @Test
    void binlog_defaults_areDeltasEvery200msAndStopOnAGap() {
        BackstopConfig.Binlog b = parse(config("{\"url\": \"mariadb://u@h/s\"}", ", \"binlog\": {\"spool\": \"/spool\"}"))
                .binlog().orElseThrow();

        assertThat(b.deltas()).isTrue();
        assertThat(b.pollInterval()).isEqualTo(Duration.ofMillis(200));
        assertThat(b.acceptGaps()).isFalse();
        assertThat(b.serverId()).isEmpty();
        assertThat(b.toString()).contains("binlog/server-<server id>", "stops on a gap");
    }

    @Test
    void badBinlogSettings_nameTheKey() {
        String db = "{\"url\": \"mariadb://u@h/s\"}";
        assertThatThrownBy(() -> parse(config(db, ", \"binlog\": {\"spool\": \"/s\", \"pollIntervall\": \"1s\"}")))
                .hasMessageStartingWith("backup.binlog.pollIntervall: unknown key; allowed here: ");
        assertThatThrownBy(() -> parse(config(db, ", \"binlog\": {\"spool\": \"/s\", \"pollInterval\": \"5ms\"}")))
                .hasMessage("backup.binlog.pollInterval: got \"5ms\", expected a duration from 10ms to 1m, like 200ms");
        assertThatThrownBy(() -> parse(config(db, ", \"binlog\": {\"spool\": \"/s\", \"serverId\": \"zero\"}")))
                .hasMessageStartingWith("backup.binlog.serverId: got \"zero\"");
        assertThatThrownBy(() -> parse(config(db, ", \"binlog\": {\"spool\": \"/s\", \"startFile\": \"binlog.1\"}")))
                .hasMessageStartingWith("backup.binlog.startFile: got \"binlog.1\"");
        assertThatThrownBy(() -> parse(config(db, ", \"binlog\": {}"))).hasMessageStartingWith("backup.binlog.spool: missing");
        assertThatThrownBy(() -> parse(config(db, ", \"binlog\": {\"spool\": \"/s\", \"archive\": \"db1\"}")))
                .hasMessageStartingWith("backup.binlog.serverId: missing");
    }

    @Test
    void binlogWithPostgres_andWalWithMariaDb_areRefused() {
        assertThatThrownBy(() -> parse(config("{\"type\": \"postgres\", \"host\": \"h\", \"user\": \"u\", \"name\": \"n\"}",
                ", \"binlog\": {\"spool\": \"/s\"}"))).hasMessageStartingWith("backup.binlog: is for MariaDB/MySQL");
        assertThatThrownBy(() -> parse(config("{\"url\": \"mariadb://u@h/s\"}", ", \"wal\": {\"systemId\": \"1\"}")))
                .hasMessageStartingWith("backup.wal: is PostgreSQL's WAL archiving");
    }
}
