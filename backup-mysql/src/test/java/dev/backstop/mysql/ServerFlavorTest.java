package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ServerFlavorTest {

    @Test
    void parse_ofMariaDbVersion_isMariaDb() {
        ServerFlavor f = ServerFlavor.parse("10.11.19-MariaDB-0+deb12u1-log");
        assertThat(f).isEqualTo(new ServerFlavor(true, 10, 11, 19));
        assertThat(f.engine()).isEqualTo("mariadb");
        assertThat(f.dumpProgram()).isEqualTo("mariadb-dump");
    }

    @Test
    void parse_ofMariaDbBehindTheReplicationPrefix_readsTheRealVersion() {
        assertThat(ServerFlavor.parse("5.5.5-10.6.12-MariaDB")).isEqualTo(new ServerFlavor(true, 10, 6, 12));
    }

    @Test
    void parse_ofMySqlVersion_isMySql() {
        ServerFlavor f = ServerFlavor.parse("8.0.36");
        assertThat(f).isEqualTo(new ServerFlavor(false, 8, 0, 36));
        assertThat(f.engine()).isEqualTo("mysql");
        assertThat(f.dumpProgram()).isEqualTo("mysqldump");
    }

    @Test
    void parse_ofGarbage_isRefusedNamingTheValue() {
        assertThatThrownBy(() -> ServerFlavor.parse("banana")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'banana'");
    }

    @Test
    void dumpArguments_forMariaDb_startWithTheOptionFile_useMasterDataAndGtid_andEndWithTheDatabase() {
        List<String> args = ServerFlavor.parse("10.11.19-MariaDB").dumpArguments("--defaults-file=/tmp/x.cnf", "shop",
                List.of("--ignore-table=shop.audit"));
        assertThat(args).containsExactly("--defaults-file=/tmp/x.cnf", "--single-transaction", "--master-data=2", "--gtid",
                "--routines", "--events", "--triggers", "--hex-blob", "--default-character-set=utf8mb4", "--quick",
                "--skip-add-locks", "--ignore-table=shop.audit", "shop");
        assertThat(args).doesNotContain("--databases").noneMatch(a -> a.startsWith("--source-data") || a.startsWith("--password"));
    }

    @Test
    void dumpArguments_forMySql8_useSourceDataAndACommentedGtidSet() {
        List<String> args = ServerFlavor.parse("8.0.36").dumpArguments("--defaults-file=/tmp/x.cnf", "shop", List.of());
        assertThat(args).containsExactly("--defaults-file=/tmp/x.cnf", "--single-transaction", "--source-data=2",
                "--set-gtid-purged=COMMENTED", "--routines", "--events", "--triggers", "--hex-blob",
                "--default-character-set=utf8mb4", "--quick", "--skip-add-locks", "shop");
        assertThat(args).doesNotContain("--gtid", "--master-data=2");
    }

    @Test
    void dumpArguments_forMySqlBefore8026_useMasterDataAndNoGtidStatement() {
        List<String> args = ServerFlavor.parse("8.0.25").dumpArguments("--defaults-file=/x", "shop", List.of());
        assertThat(args).contains("--master-data=2", "--set-gtid-purged=OFF").doesNotContain("--source-data=2", "--gtid");
    }
}
