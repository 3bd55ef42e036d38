package dev.backstop.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.postgres.physical.RecoveryTarget;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class RecoveryOptionsTest {
    static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    static Commands.RestoreCommand parse(String... args) {
        CommandLine cmd = Backstop.commandLine(Map.of(), new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        CommandLine.ParseResult r = cmd.parseArgs(args);
        return (Commands.RestoreCommand) r.subcommand().commandSpec().userObject();
    }

    static RecoveryTarget target(String... args) {
        Commands.RestoreCommand c = parse(args);
        return c.pitr.target(c.spec, BERLIN);
    }

    @Test
    void eachTargetOption_becomesItsRecoveryTarget_inclusiveUnlessSaidOtherwise() {
        assertThat(target("restore", "--to", "d", "--target-time", "2026-12-07T14:03:00Z"))
                .isEqualTo(RecoveryTarget.time(Instant.parse("2026-12-07T14:03:00Z"), true));
        // a local time is in the configured zone
        assertThat(target("restore", "--to", "d", "--target-time", "2026-12-07 15:03:00", "--target-exclusive"))
                .isEqualTo(RecoveryTarget.time(Instant.parse("2026-12-07T14:03:00Z"), false));
        assertThat(target("restore", "--to", "d", "--target-time", "2026-12-07T15:03:00+01:00"))
                .isEqualTo(RecoveryTarget.time(Instant.parse("2026-12-07T14:03:00Z"), true));
        assertThat(target("restore", "--to", "d", "--target-lsn", "0/3000148")).isEqualTo(RecoveryTarget.lsn(0x3000148L, true));
        assertThat(target("restore", "--to", "d", "--target-xid", "742")).isEqualTo(RecoveryTarget.xid(742, true));
        assertThat(target("restore", "--to", "d", "--target-name=before-migration")).isEqualTo(RecoveryTarget.restorePoint("before-migration"));
        assertThat(target("restore", "--latest", "--to", "d")).isEqualTo(RecoveryTarget.latest());
    }

    @Test
    void targetAction_pausesOrShutsDownAtTheTarget_butNotWithStartOrWithoutATarget() {
        RecoveryTarget paused = target("restore", "--to", "d", "--target-name", "T", "--target-action", "pause");
        assertThat(paused).isEqualTo(RecoveryTarget.restorePoint("T").then(RecoveryTarget.Action.PAUSE));
        assertThat(Recovery.describe(paused)).isEqualTo("restore point T, then pause");
        assertThat(target("restore", "--to", "d", "--target-xid", "9", "--target-action", "PROMOTE")).isEqualTo(RecoveryTarget.xid(9, true));
        assertThatThrownBy(() -> target("restore", "--to", "d", "--target-action", "shutdown"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("needs --target-time");
        assertThatThrownBy(() -> target("restore", "--to", "d", "--target-name", "T", "--target-action", "pause", "--start"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--start waits for promotion");
    }

    @Test
    void gtid_twoTargets_andBadValues_areUsageErrorsSayingWhatIsAllowed() {
        assertThatThrownBy(() -> target("restore", "--to", "d", "--target-gtid", "0-1-5"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--target-gtid: not supported for PostgreSQL");
        assertThatThrownBy(() -> target("restore", "--to", "d", "--target-xid", "7", "--target-name", "x"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("give one of").hasMessageContaining("got 2");
        assertThatThrownBy(() -> target("restore", "--to", "d", "--target-time", "yesterday"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("got \"yesterday\"");
        assertThatThrownBy(() -> target("restore", "--to", "d", "--target-exclusive"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--target-exclusive needs");
        assertThatThrownBy(() -> target("restore", "--to", "d", "--target-xid", "1"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("normal transaction ids start at 3");
    }

    static dev.backstop.mysql.recovery.RecoveryTarget mariaDb(String... args) {
        Commands.RestoreCommand c = parse(args);
        return BinlogRestore.target(c.pitr, c.spec, BERLIN);
    }

    @Test
    void mariaDbTargets_areAGtidAPositionATimeToTheSecondOrTheLatest() {
        assertThat(mariaDb("restore", "--to-database", "shop", "--target-gtid", "0-1-4711"))
                .isEqualTo(dev.backstop.mysql.recovery.RecoveryTarget.gtid("0-1-4711"));
        assertThat(mariaDb("restore", "--to-database", "shop", "--target-position", "mariadb-bin.000042:1234"))
                .isEqualTo(dev.backstop.mysql.recovery.RecoveryTarget.position("mariadb-bin.000042", 1234));
        // binlog times are whole seconds: the fraction is dropped, a local time is in the configured zone
        assertThat(mariaDb("restore", "--to-database", "shop", "--target-time", "2026-12-07 15:03:00.750"))
                .isEqualTo(dev.backstop.mysql.recovery.RecoveryTarget.before(Instant.parse("2026-12-07T14:03:00Z")));
        assertThat(mariaDb("restore", "--to-database", "shop", "--target-latest"))
                .isEqualTo(dev.backstop.mysql.recovery.RecoveryTarget.latest());
    }

    @Test
    void optionsOfTheOtherEngine_andBadMariaDbTargets_areUsageErrorsNamingWhatIsAllowed() {
        assertThatThrownBy(() -> mariaDb("restore", "--to-database", "shop", "--target-lsn", "0/3000148"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--target-lsn: not supported for MariaDB")
                .hasMessageContaining("--target-gtid DOMAIN-SERVER-SEQ, --target-position FILE:POS");
        assertThatThrownBy(() -> mariaDb("restore", "--to-database", "shop", "--target-xid", "7"))
                .hasMessageContaining("--target-xid: not supported for MariaDB");
        assertThatThrownBy(() -> mariaDb("restore", "--to-database", "shop", "--target-gtid", "0-1-5", "--target-latest"))
                .hasMessageContaining("give one of --target-gtid, --target-position, --target-time, --target-latest (got 2)");
        assertThatThrownBy(() -> mariaDb("restore", "--to-database", "shop", "--target-position", "mariadb-bin.000042"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("expected FILE:POS");
        assertThatThrownBy(() -> mariaDb("restore", "--to-database", "shop", "--target-gtid", "yesterday"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("yesterday");
        assertThatThrownBy(() -> target("restore", "--to", "d", "--target-position", "mariadb-bin.000042:4"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--target-position: not supported for PostgreSQL");
        assertThatThrownBy(() -> target("restore", "--to", "d", "--to-server", "db2:3306"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--to-server: MariaDB only");
        assertThat(target("restore", "--to", "d", "--target-latest")).isEqualTo(RecoveryTarget.latest());
    }

    @Test
    void pitrOptions_withoutADataDirectory_areRefused() {
        StringWriter err = new StringWriter();
        int code = Backstop.execute(new String[] {"restore", "--latest", "--to-file", "out", "--target-name", "x", "--config",
                "/nonexistent.json"}, Map.of(), new PrintWriter(new StringWriter()), new PrintWriter(err));
        // the configuration is read first; either way a usage error
        assertThat(code).isEqualTo(Backstop.USAGE);
        assertThat(parse("restore", "--latest", "--to-file", "out", "--target-name", "x").pitr.any()).isTrue();
        assertThat(parse("restore", "--latest", "--to-file", "out").pitr.any()).isFalse();
    }

    @Test
    void restoreCommand_quotesEveryWord_andEndsWithThePlaceholders() {
        String launcher = System.getProperty("backstop.launcher");
        String cmd = Recovery.restoreCommand(Path.of("/etc/back'stop/b.json"), "7312345678901234567");
        assertThat(launcher).isNull();
        assertThat(cmd).contains("'dev.backstop.cli.Backstop' 'wal' 'archive-get' '--system-id' '7312345678901234567' '--config' "
                + "'/etc/back'\\''stop/b.json' %f %p");
        assertThat(cmd).startsWith("'" + Path.of(System.getProperty("java.home"), "bin", "java") + "' '-cp' '");
    }
}
