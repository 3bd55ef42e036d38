package dev.backstop.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.mysql.MariaDbDumpSource;
import dev.backstop.mysql.MariaDbInstance;
import dev.backstop.mysql.MariaDbRestore;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.mysql.ServerFlavor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MySQL 8 through {@link TestcontainersMySql}: runs only where a Docker engine answers (and, for
 * the backup, where Oracle's mysqldump is installed: system property {@code backstop.mysqldump}
 * or {@code mysqldump} on PATH); skipped otherwise.
 */
class TestcontainersMySqlIT {
    private static final String IMAGE = "mysql:8.0";

    @TempDir
    Path tmp;

    @Test
    void start_whenDockerAnswers_givesAMySql8ServerWithABinlogBehindTheMariaDbInterface() throws Exception {
        assumeTrue(TestcontainersMySql.dockerAvailable(), "no Docker engine: the container provider is optional");
        try (MariaDbInstance mysql = TestcontainersMySql.of(IMAGE).start();
             Connection c = mysql.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT @@log_bin, @@server_id")) {
            ServerFlavor flavor = ServerFlavor.parse(mysql.version());
            assertThat(flavor.mariadb()).isFalse();
            assertThat(flavor.major()).isEqualTo(8);
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(1);
            assertThat(rs.getInt(2)).isEqualTo(1);
        }
    }

    @Test
    void logicalBackupOfMySql8_atItsBinlogPosition_restoresEveryRowIntoANewDatabase() throws Exception {
        assumeTrue(TestcontainersMySql.dockerAvailable(), "no Docker engine: the container provider is optional");
        Optional<Path> mysqldump = oraclesMysqldump();
        assumeTrue(mysqldump.isPresent(), "no Oracle mysqldump on this host: MariaDB's cannot dump MySQL 8 (--source-data)");
        try (MariaDbInstance mysql = TestcontainersMySql.of(IMAGE).start()) {
            mysql.createDatabase("shop");
            try (Connection c = mysql.connect("shop"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE customer (id INT PRIMARY KEY AUTO_INCREMENT, email VARCHAR(120) NOT NULL UNIQUE, "
                        + "balance DECIMAL(12,2) NOT NULL, note TEXT NULL, created DATETIME(6) NOT NULL) ENGINE=InnoDB");
                st.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, items JSON NOT NULL, "
                        + "invoice BLOB NULL, KEY (customer_id), CONSTRAINT fk_customer FOREIGN KEY (customer_id) "
                        + "REFERENCES customer (id)) ENGINE=InnoDB");
                st.execute("SET SESSION cte_max_recursion_depth = 10000");
                st.execute("INSERT INTO customer (email, balance, note, created) WITH RECURSIVE s (n) AS "
                        + "(SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500) SELECT CONCAT('user', n, '@example.com'), "
                        + "n / 100, IF(n % 3 = 0, NULL, IF(n % 3 = 1, '', CONCAT('note ', n, ' '))), "
                        + "TIMESTAMP'2024-01-01 00:00:00' + INTERVAL n SECOND FROM s");
                st.execute("INSERT INTO orders (customer_id, items, invoice) WITH RECURSIVE s (n) AS "
                        + "(SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2000) SELECT 1 + n % 500, "
                        + "JSON_ARRAY(JSON_OBJECT('sku', n % 97, 'qty', 1 + n % 4)), IF(n % 5 = 0, UNHEX(SHA2(n, 256)), NULL) FROM s");
            }
            Repository repo = Repository.filesystem(tmp.resolve("repo"));
            KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
            Manifest m = BackupPipeline.builder()
                    .source(MariaDbDumpSource.builder(mysql.endpoint(), "shop")
                            .tools(MariaDbTools.locate().with("mysqldump", mysqldump.get())).workDir(tmp).build())
                    .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).repository(repo).build().run();

            assertThat(m.source().engine()).isEqualTo("mysql");
            assertThat(m.consistency().properties()).containsKeys("binlog_file", "binlog_position");

            Restore restore = Restore.builder().repository(repo).keys(kek).build();
            MariaDbRestore.builder(restore, mysql.endpoint(), "shop_restored").workDir(tmp).build().run(m);

            assertThat(tableSums(mysql, "shop_restored")).isEqualTo(tableSums(mysql, "shop")).hasSize(2);
        }
    }

    /** Per table of {@code database}: name, row count and CHECKSUM TABLE, in name order. */
    private static List<String> tableSums(MariaDbInstance db, String database) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = db.connect(database); Statement st = c.createStatement()) {
            for (String table : List.of("customer", "orders")) {
                long rows;
                try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM " + table)) {
                    rs.next();
                    rows = rs.getLong(1);
                }
                try (ResultSet sum = st.executeQuery("CHECKSUM TABLE " + table + " EXTENDED")) {
                    sum.next();
                    out.add(table + " " + rows + " " + sum.getLong(2));
                }
            }
        }
        return out;
    }

    /** Oracle's mysqldump: the system property {@code backstop.mysqldump}, else {@code mysqldump} on PATH unless it is MariaDB's. */
    private static Optional<Path> oraclesMysqldump() throws IOException, InterruptedException {
        String configured = System.getProperty("backstop.mysqldump");
        if (configured != null) {
            return Optional.of(Path.of(configured));
        }
        Path found;
        try {
            found = MariaDbTools.locate().tool("mysqldump");
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        Process p = new ProcessBuilder(found.toString(), "--version").redirectErrorStream(true).start();
        String version = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return version.contains("MariaDB") ? Optional.empty() : Optional.of(found);
    }
}
