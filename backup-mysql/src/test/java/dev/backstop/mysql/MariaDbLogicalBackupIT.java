package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MariaDbLogicalBackupIT {
    static EphemeralMariaDb source;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        source = EphemeralMariaDb.start();
        Shop.create(source, "shop", 1000);
    }

    @AfterAll
    static void stop() throws Exception {
        source.close();
    }

    Manifest backup(String database, Repository repo, KeyEncryptionKey kek) {
        return BackupPipeline.builder()
                .source(MariaDbDumpSource.builder(source.endpoint(), database).build())
                .compress(ZstdTransform.level(3))
                .encrypt(Encryption.with(kek))
                .repository(repo)
                .build().run();
    }

    @Test
    void backup_recordsBinlogPointAndFingerprints_andTheDrillReproducesEveryOne() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("shop", repo, kek);

        assertThat(m.source().engine()).isEqualTo("mariadb");
        assertThat(m.source().version()).isEqualTo(source.version());
        assertThat(m.objects()).extracting(o -> o.name()).containsExactly("dump.sql");
        assertThat(m.consistency().properties()).containsKeys("binlog_file", "binlog_position", "gtid", "server_id", "timestamp");
        assertThat(m.consistency().properties().get("binlog_file")).startsWith("binlog.");
        assertThat(m.consistency().properties().get("gtid")).matches("0-" + source.serverId() + "-\\d+");
        assertThat(m.consistency().properties().get("server_id")).isEqualTo(Integer.toString(source.serverId()));
        try (Connection c = source.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW MASTER STATUS")) {
            rs.next();
            assertThat(m.consistency().properties()).containsEntry("binlog_file", rs.getString(1))
                    .containsEntry("binlog_position", rs.getString(2));
        }
        assertThat(m.attributes()).containsEntry("mariadb.fingerprints", "dump-stream")
                .containsEntry("mariadb.database_charset", "latin1")
                .containsKeys("mariadb.schema.table:customer", "mariadb.schema.view:top_spender",
                        "mariadb.schema.trigger:orders_total", "mariadb.schema.procedure:add_customer",
                        "mariadb.schema.function:spent_by", "mariadb.schema.event:nightly");
        assertThat(m.fingerprints()).hasValueSatisfying(f -> {
            assertThat(f.tables()).containsOnlyKeys("customer", "orders", "exact", "empty_table", "odd_shapes");
            assertThat(f.tables().get("customer").rows()).isEqualTo(1000);
            assertThat(f.tables().get("orders").rows()).isEqualTo(3000);
            assertThat(f.tables().get("empty_table").rows()).isZero();
            assertThat(f.schemaHash()).startsWith("sha256:");
        });

        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        ValidationResult r = MariaDbRestoreDrill.builder().build().validate(m, restore);

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("check_table", "passed").containsEntry("rows", "4006")
                .containsEntry("tables", "5").containsKey("rto_ms");
        assertThat(m.attributes()).containsKey("mariadb.schema.sequence:invoice_numbers");
        assertThat(repo.latestValidation(m.id())).hasValueSatisfying(v -> {
            assertThat(v.validator()).isEqualTo("restore-drill");
            assertThat(v.passed()).isTrue();
        });
    }

    @Test
    void drill_ofARestoreChangedAfterItsLoad_failsNamingEachChangedTable() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("shop", repo, kek);
        // the drill's first connection is its verification: change the restored rows just before it
        MariaDbProvider tampering = () -> new Tampered(EphemeralMariaDb.start(), "UPDATE drill.exact SET bits = b'100' WHERE id = 1",
                "DELETE FROM drill.orders WHERE id = 7", "UPDATE drill.odd_shapes SET greek = NULL WHERE id = 2");

        ValidationResult r = MariaDbRestoreDrill.builder().provider(tampering).checkTables(false).record(false).build()
                .validate(m, Restore.builder().repository(repo).keys(kek).build());

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).hasSize(3)
                .anySatisfy(f -> assertThat(f).startsWith("table exact: expected content hash"))
                .anySatisfy(f -> assertThat(f).startsWith("table odd_shapes: expected content hash"))
                .anySatisfy(f -> assertThat(f).startsWith("table orders: expected 3000 rows"));
    }

    /** A throwaway server whose data is changed by {@code statements} when the first connection is opened. */
    private static final class Tampered implements MariaDbInstance {
        private final EphemeralMariaDb db;
        private final String[] statements;
        private boolean done;

        Tampered(EphemeralMariaDb db, String... statements) {
            this.db = db;
            this.statements = statements;
        }

        @Override
        public MariaDbEndpoint endpoint() {
            return db.endpoint();
        }

        @Override
        public String version() {
            return db.version();
        }

        @Override
        public synchronized Connection connect(String database) throws java.sql.SQLException {
            if (!done) {
                done = true;
                try (Connection c = db.connect(null); Statement st = c.createStatement()) {
                    for (String sql : statements) {
                        st.execute(sql);
                    }
                }
            }
            return db.connect(database);
        }

        @Override
        public void close() throws java.io.IOException {
            db.close();
        }
    }

    @Test
    void restore_intoANewDatabase_bringsEveryObject_andLeavesNoStagingDatabase() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("shop", repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        MariaDbRestore.Report report = MariaDbRestore.builder(restore, source.endpoint(), "shop_copy").build().run(m);

        assertThat(report.plaintextBytes()).isEqualTo(m.plaintextBytes());
        try (Connection c = source.connect("shop_copy"); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT spent_by(1), (SELECT COUNT(*) FROM big_spenders), "
                    + "(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop_copy'), "
                    + "(SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop_copy'), "
                    + "(SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '%\\_\\_bs\\_%')")) {
                rs.next();
                assertThat(rs.getBigDecimal(1)).isPositive();
                assertThat(rs.getInt(2)).isEqualTo(1000);
                assertThat(rs.getInt(3)).isEqualTo(1);
                assertThat(rs.getInt(4)).isEqualTo(1);
                assertThat(rs.getInt(5)).isZero();
            }
            st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
            MariaDbFingerprints.Result copy = MariaDbFingerprints.compute(c, "shop_copy");
            st.execute("ROLLBACK");
            assertThat(m.fingerprints().get().differencesFrom(copy.fingerprints())).isEmpty();
            assertThat(MariaDbFingerprints.differences(MariaDbFingerprints.objectsOf(m.attributes()), copy.objects())).isEmpty();

            // a trailing space is invisible to a PAD SPACE comparison, not to the fingerprint
            st.execute("UPDATE exact SET s = 'a' WHERE id = 1");
            st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
            MariaDbFingerprints.Result changed = MariaDbFingerprints.compute(c, "shop_copy");
            st.execute("ROLLBACK");
            assertThat(m.fingerprints().get().differencesFrom(changed.fingerprints()))
                    .singleElement().asString().startsWith("table exact: expected content hash");
        }
    }

    @Test
    void restore_withOneSessionAndWithThree_yieldsTheSameFingerprints() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("shop", repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        for (int jobs : new int[] {1, 3}) {
            String target = "shop_jobs_" + jobs;
            MariaDbRestore.builder(restore, source.endpoint(), target).jobs(jobs).build().run(m);
            MariaDbFingerprints.Result copy = fingerprints(target);
            assertThat(m.fingerprints().get().differencesFrom(copy.fingerprints())).as("jobs %d", jobs).isEmpty();
            assertThat(MariaDbFingerprints.differences(MariaDbFingerprints.objectsOf(m.attributes()), copy.objects()))
                    .as("jobs %d", jobs).isEmpty();
        }
    }

    /** The fingerprints of {@code database} on the source server, from one consistent snapshot. */
    private static MariaDbFingerprints.Result fingerprints(String database) throws Exception {
        try (Connection c = source.connect(database); Statement st = c.createStatement()) {
            st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT");
            MariaDbFingerprints.Result result = MariaDbFingerprints.compute(c, database);
            st.execute("ROLLBACK");
            return result;
        }
    }

    @Test
    void restore_withoutTheBinlog_writesNothingToTheTargetsBinlog_andRestoresTheSameFingerprints() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("shop", repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        String before = binlogPosition();

        MariaDbRestore.builder(restore, source.endpoint(), "shop_unlogged").writeBinlog(false).build().run(m);

        assertThat(binlogPosition()).isEqualTo(before);
        assertThat(m.fingerprints().get().differencesFrom(fingerprints("shop_unlogged").fingerprints())).isEmpty();
    }

    @Test
    void restore_ofADumpWithoutItsSetNames_stillLoadsTextBeyondAsciiExactly() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        // --skip-set-charset: the dump no longer sets its character set; the load sessions must
        Manifest m = BackupPipeline.builder()
                .source(MariaDbDumpSource.builder(source.endpoint(), "shop").dumpOption("--skip-set-charset").build())
                .repository(repo).encrypt(Encryption.with(kek)).build().run();
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        for (int jobs : new int[] {1, 2}) {
            String target = "shop_no_set_names_" + jobs;
            MariaDbRestore.builder(restore, source.endpoint(), target).jobs(jobs).build().run(m);
            assertThat(m.fingerprints().get().differencesFrom(fingerprints(target).fingerprints())).as("jobs %d", jobs).isEmpty();
            try (Connection c = source.connect(target); Statement st = c.createStatement()) {
                try (ResultSet rs = st.executeQuery("SELECT name FROM customer WHERE id = 4")) {
                    rs.next();
                    assertThat(rs.getString(1)).isEqualTo("customer 4 \u00e9\u4e2d\ud83d\ude00'\\");
                }
            }
        }
    }

    private static String binlogPosition() throws Exception {
        try (Connection c = source.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW MASTER STATUS")) {
            rs.next();
            return rs.getString(1) + ":" + rs.getString(2);
        }
    }

    @Test
    void restore_intoAnExistingEmptyDatabase_fillsIt() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("shop", repo, kek);
        source.createDatabase("prepared");

        MariaDbRestore.builder(Restore.builder().repository(repo).keys(kek).build(), source.endpoint(), "prepared").build().run(m);

        try (Connection c = source.connect("prepared"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM orders")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(3000);
        }
    }

    @Test
    void restore_intoANonEmptyTarget_isRefusedNamingAnObject_andChangesNothing() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup("shop", repo, kek);
        source.createDatabase("occupied");
        try (Connection c = source.connect("occupied"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE precious (id INT)");
        }
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        assertThatThrownBy(() -> MariaDbRestore.builder(restore, source.endpoint(), "occupied").build().run(m))
                .hasMessageContaining("target database 'occupied'").hasMessageContaining("is not empty")
                .hasMessageContaining("table precious");
        try (Connection c = source.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'occupied'")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(1);
        }
    }

    @Test
    void restore_whoseLoadTimesOutOnALock_dropsItsStagingDatabaseAndLoadsAgainIntoANewOne() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        // a view of the backed-up database reads a table of another one: a lock held on that table
        // makes the load's CREATE VIEW wait, and time out
        try (Connection c = source.connect(null); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE rates");
            st.execute("CREATE TABLE rates.rate (id INT PRIMARY KEY, percent INT NOT NULL) ENGINE=InnoDB");
            st.execute("INSERT INTO rates.rate VALUES (1, 7), (2, 19)");
            st.execute("CREATE DATABASE priced");
            st.execute("CREATE TABLE priced.item (id INT PRIMARY KEY, rate_id INT NOT NULL, KEY rate (rate_id)) ENGINE=InnoDB");
            st.execute("USE priced");
            st.execute("INSERT INTO item SELECT seq, 1 + seq % 2 FROM seq_1_to_500");
            st.execute("CREATE VIEW priced.with_rate AS SELECT i.id, r.percent FROM priced.item i JOIN rates.rate r ON r.id = i.rate_id");
        }
        Manifest m = backup("priced", repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        Set<String> stagings = ConcurrentHashMap.newKeySet();

        try (Connection admin = source.connect(null); Statement settings = admin.createStatement();
             Connection blocker = source.connect(null); Statement lock = blocker.createStatement()) {
            settings.execute("SET GLOBAL lock_wait_timeout = 1");
            try {
                lock.execute("LOCK TABLES rates.rate WRITE");
                AtomicBoolean unlocked = new AtomicBoolean();
                // asked for a thread before each load session starts: once a second staging database
                // exists, the first load has failed, and the lock goes
                ThreadFactory threads = task -> {
                    stagings.addAll(stagingDatabases("priced_copy"));
                    if (stagings.size() > 1 && unlocked.compareAndSet(false, true)) {
                        try {
                            lock.execute("UNLOCK TABLES");
                        } catch (SQLException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    Thread t = new Thread(task);
                    t.setDaemon(true);
                    return t;
                };

                MariaDbRestore.builder(restore, source.endpoint(), "priced_copy").jobs(2).threads(threads).build().run(m);
            } finally {
                settings.execute("SET GLOBAL lock_wait_timeout = DEFAULT");
            }
        }

        assertThat(stagings).hasSize(2);
        assertThat(stagingDatabases("priced_copy")).isEmpty();
        assertThat(m.fingerprints().get().differencesFrom(fingerprints("priced_copy").fingerprints())).isEmpty();
        try (Connection c = source.connect("priced_copy"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*), SUM(percent) FROM with_rate")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(500);
            assertThat(rs.getInt(2)).isEqualTo(250 * 7 + 250 * 19);
        }
    }

    @Test
    void restore_underAnotherName_makesAViewThatAlsoReadsAnotherDatabaseReadTheRestoredTables() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        try (Connection c = source.connect(null); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE units");
            st.execute("CREATE TABLE units.unit (id INT PRIMARY KEY, name VARCHAR(10) NOT NULL) ENGINE=InnoDB");
            st.execute("INSERT INTO units.unit VALUES (1, 'kg'), (2, 'm')");
            st.execute("CREATE DATABASE stock");
            st.execute("USE stock");
            st.execute("CREATE TABLE part (id INT PRIMARY KEY, unit_id INT NOT NULL, name VARCHAR(20) NOT NULL) ENGINE=InnoDB");
            st.execute("INSERT INTO part SELECT seq, 1 + seq % 2, CONCAT('`stock`.', seq) FROM seq_1_to_40");
            // the server keeps this view as reading `stock`.`part`: it names another database
            st.execute("CREATE VIEW measured AS SELECT p.id, p.name, u.name AS unit FROM part p JOIN units.unit u ON u.id = p.unit_id");
            // code naming its own database is restored as written, with a warning
            st.execute("CREATE TABLE audit (part_id INT NOT NULL) ENGINE=InnoDB");
            st.execute("CREATE TRIGGER part_audit AFTER INSERT ON part FOR EACH ROW INSERT INTO stock.audit VALUES (NEW.id)");
            st.execute("CREATE PROCEDURE add_part(IN n VARCHAR(20)) INSERT INTO part SELECT MAX(id) + 1, 1, n FROM part");
        }
        Manifest m = backup("stock", repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        MariaDbRestore.Report report = MariaDbRestore.builder(restore, source.endpoint(), "stock_copy").build().run(m);

        assertThat(report.warnings()).singleElement().asString()
                .startsWith("trigger part_audit names database stock in its body; restored into stock_copy");
        try (Connection c = source.connect(null); Statement st = c.createStatement()) {
            st.execute("DELETE FROM stock.part WHERE id > 10");
        }

        try (Connection c = source.connect("stock_copy"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*), SUM(unit = 'kg'), MAX(name = '`stock`.7'), "
                     + "(SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'stock_copy') FROM measured")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(40);
            assertThat(rs.getInt(2)).isEqualTo(20);
            assertThat(rs.getInt(3)).isEqualTo(1);
            assertThat(rs.getString(4)).contains("`stock_copy`.`part`").contains("`units`.`unit`").doesNotContain("`stock`.`part`");
        }
        // the view's definition hash leaves its own database's name out
        MariaDbFingerprints.Result copy = fingerprints("stock_copy");
        assertThat(MariaDbFingerprints.differences(MariaDbFingerprints.objectsOf(m.attributes()), copy.objects())).isEmpty();
    }

    private static Set<String> stagingDatabases(String target) {
        try (Connection c = source.connect(null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '"
                     + target + "\\_\\_bs\\_%'")) {
            Set<String> names = new HashSet<>();
            while (rs.next()) {
                names.add(rs.getString(1));
            }
            return names;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
