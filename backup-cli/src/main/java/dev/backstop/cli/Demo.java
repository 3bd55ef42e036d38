package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.DataSize;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbDumpSource;
import dev.backstop.mysql.MariaDbRestoreDrill;
import dev.backstop.mysql.MariaDbTools;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.logical.PgDumpSource;
import dev.backstop.postgres.logical.RestoreDrill;
import dev.backstop.testkit.RealisticFixture;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code backstop demo}, the README's first command: a throwaway PostgreSQL with a realistic
 * sample database, a backup (zstd-3 + AEAD) into a local repository, a restore into a second
 * throwaway PostgreSQL, and a fingerprint comparison. Prints a short report; exits 0 only if the
 * restore was proven exact. It needs no configuration file.
 *
 * <pre>
 *   ./mvnw -q -pl backup-cli -am -DskipTests package exec:java
 *   ./mvnw -q -pl backup-cli -am -DskipTests package exec:java -Dexec.args="demo --size=1GiB"
 *   ./mvnw -q -pl backup-cli -am -DskipTests package exec:java -Dexec.args="demo --mariadb"
 *   backstop demo --mariadb --jobs=4
 * </pre>
 */
@Command(name = "demo", description = "Back up a throwaway database with a realistic sample, restore it into a second "
        + "throwaway server and prove it identical; exits 0 only if verified. Needs no configuration.")
final class Demo implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--size", paramLabel = "SIZE", defaultValue = "100MiB", converter = SizeConverter.class,
            description = "The sample database's size, like 100MiB or 1GiB. Default: ${DEFAULT-VALUE}.")
    DataSize size;

    @Option(names = "--dir", paramLabel = "DIR", description = "Where the repository and the key go; kept for inspection. "
            + "Default: ./backstop-demo-<time>.")
    Path dir;

    @Option(names = "--mariadb", description = "The same on throwaway MariaDB servers: mariadb-dump at a binlog position, "
            + "a parallel restore, fingerprints and CHECK TABLE ... EXTENDED.")
    boolean mariadb;

    @Option(names = "--jobs", paramLabel = "N", defaultValue = "2", description = "The MariaDB restore's sessions, 1 to 64. "
            + "Default: ${DEFAULT-VALUE}.")
    int jobs;

    @Override
    public Integer call() {
        if (jobs < 1 || jobs > 64) {
            throw new ParameterException(spec.commandLine(), "--jobs: got '" + jobs + "', expected a number of sessions from 1 to 64");
        }
        Backstop root = (Backstop) spec.root().userObject();
        PrintWriter out = root.out;
        // as every command: warnings on stderr, not the drivers' and tools' debug lines between the report's
        Logging.configure(BackstopConfig.LogFormat.TEXT, root.err);
        Path where = (dir != null ? dir : Path.of("backstop-demo-" + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss")
                .withZone(ZoneOffset.UTC).format(Instant.now()))).toAbsolutePath();
        try {
            return mariadb ? mariaDbDemo(size, jobs, where, out) : demo(size, where, out);
        } catch (BackupException | IOException | SQLException e) {
            out.println("NOT VERIFIED: " + e.getMessage());
            return Backstop.FAILURE;
        }
    }

    /** Sizes on the command line read like {@code 100MiB}. */
    static final class SizeConverter implements ITypeConverter<DataSize> {
        @Override
        public DataSize convert(String value) {
            try {
                return DataSize.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("got '" + value + "', expected a size like 100MiB: " + e.getMessage());
            }
        }
    }

    private static int demo(DataSize size, Path dir, PrintWriter out) throws IOException, SQLException {
        PgTools tools = PgTools.locate();
        out.println("Backstop demo: back up a PostgreSQL database, restore it elsewhere, prove it is identical");
        try (EphemeralPostgres source = EphemeralPostgres.builder().tools(tools).start()) {
            source.createDatabase("app");
            long t0 = System.nanoTime();
            long dbBytes;
            try (Connection c = source.connect("app")) {
                dbBytes = RealisticFixture.ofSize(size).load(c);
            }
            out.printf(Locale.ROOT, "  source     throwaway PostgreSQL %s on 127.0.0.1:%d, sample database 'app' %s loaded in %.1f s%n",
                    source.version(), source.endpoint().port(), mib(dbBytes), secs(System.nanoTime() - t0));

            Repository repo = Repository.filesystem(dir.resolve("repo"));
            KeyEncryptionKey kek = LocalKeysetKek.create(dir.resolve("kek.json"));
            BackupPipeline pipeline = BackupPipeline.builder()
                    .source(PgDumpSource.builder(source.endpoint(), "app").tools(tools).build())
                    .compress(ZstdTransform.level(3))
                    .encrypt(Encryption.with(kek))
                    .repository(repo)
                    .build();
            long t1 = System.nanoTime();
            Manifest m = pipeline.run();
            double backupSecs = secs(System.nanoTime() - t1);
            out.printf(Locale.ROOT, "  backup     %s: pg_dump %s -> %s stored (zstd-3 + AES256-GCM), ratio %.2fx, %.1f s, %.0f MiB/s%n",
                    m.id(), mib(m.plaintextBytes()), mib(m.storedBytes()), (double) m.plaintextBytes() / m.storedBytes(),
                    backupSecs, m.plaintextBytes() / 1048576.0 / backupSecs);

            Restore restore = Restore.builder().repository(repo).keys(kek).build();
            ValidationResult r = RestoreDrill.builder().tools(tools).build().validate(restore.manifest(m.id()), restore);
            if (r.measurements().containsKey("rto_ms")) {
                out.printf(Locale.ROOT, "  restore    into a second throwaway PostgreSQL: RTO %.1f s (fetch, verify and load data %.1f s, then keys and the rest %.1f s)%n",
                        ms(r, "rto_ms"), ms(r, "fetch_ms"), ms(r, "load_ms"));
                out.printf(Locale.ROOT, "  verify     fingerprints of %s tables, %s rows and the schema compared in %.1f s; pg_amcheck %s%n",
                        r.measurements().get("tables"), r.measurements().get("rows"), ms(r, "verify_ms"),
                        r.measurements().get("amcheck"));
            }
            out.println("  repository " + dir.resolve("repo") + " (validation record written)");
            if (r.passed()) {
                out.println("VERIFIED: the backup restores exactly (every table's rows and content, and the schema).");
                return Backstop.OK;
            }
            out.println("NOT VERIFIED:");
            r.findings().forEach(f -> out.println("  - " + f));
            return Backstop.FAILURE;
        }
    }

    private static int mariaDbDemo(DataSize size, int jobs, Path dir, PrintWriter out) throws IOException, SQLException {
        MariaDbTools tools = MariaDbTools.locate();
        out.println("Backstop demo: back up a MariaDB database, restore it elsewhere, prove it is identical");
        try (EphemeralMariaDb source = EphemeralMariaDb.builder().tools(tools).start()) {
            source.createDatabase("app");
            long t0 = System.nanoTime();
            long dbBytes;
            try (Connection c = source.connect("app")) {
                dbBytes = loadShop(c, size);
            }
            out.printf(Locale.ROOT, "  source     throwaway MariaDB %s on 127.0.0.1:%d, sample database 'app' %s loaded in %.1f s%n",
                    source.version(), source.endpoint().port(), mib(dbBytes), secs(System.nanoTime() - t0));

            Repository repo = Repository.filesystem(dir.resolve("repo"));
            KeyEncryptionKey kek = LocalKeysetKek.create(dir.resolve("kek.json"));
            BackupPipeline pipeline = BackupPipeline.builder()
                    .source(MariaDbDumpSource.builder(source.endpoint(), "app").tools(tools).build())
                    .compress(ZstdTransform.level(3))
                    .encrypt(Encryption.with(kek))
                    .repository(repo)
                    .build();
            long t1 = System.nanoTime();
            Manifest m = pipeline.run();
            double backupSecs = secs(System.nanoTime() - t1);
            out.printf(Locale.ROOT, "  backup     %s: mariadb-dump %s at binlog %s:%s -> %s stored (zstd-3 + AES256-GCM), ratio %.2fx, %.1f s, %.0f MiB/s%n",
                    m.id(), mib(m.plaintextBytes()), m.consistency().properties().get("binlog_file"),
                    m.consistency().properties().get("binlog_position"), mib(m.storedBytes()),
                    (double) m.plaintextBytes() / m.storedBytes(), backupSecs, m.plaintextBytes() / 1048576.0 / backupSecs);

            Restore restore = Restore.builder().repository(repo).keys(kek).build();
            ValidationResult r = MariaDbRestoreDrill.builder().tools(tools).workDir(dir).jobs(jobs).build()
                    .validate(restore.manifest(m.id()), restore);
            if (r.measurements().containsKey("rto_ms")) {
                out.printf(Locale.ROOT, "  restore    into a second throwaway MariaDB: RTO %.1f s (fetch, verify and load in %d session(s) %.1f s, staging move %.1f s)%n",
                        ms(r, "rto_ms"), jobs, ms(r, "load_ms"), ms(r, "move_ms"));
            }
            if (r.measurements().containsKey("verify_ms")) {
                out.printf(Locale.ROOT, "  verify     fingerprints of %s tables, %s rows and every schema object compared, CHECK TABLE EXTENDED %s, in %.1f s%n",
                        r.measurements().get("tables"), r.measurements().get("rows"), r.measurements().get("check_table"),
                        ms(r, "verify_ms"));
            }
            out.println("  repository " + dir.resolve("repo") + " (validation record written)");
            if (r.passed()) {
                out.println("VERIFIED: the backup restores exactly (every table's rows and content, and the schema).");
                return Backstop.OK;
            }
            out.println("NOT VERIFIED:");
            r.findings().forEach(f -> out.println("  - " + f));
            return Backstop.FAILURE;
        }
    }

    /**
     * An application-like shop generated by the server itself (the Sequence engine's
     * {@code seq_1_to_N}): products, customers with JSON profiles, orders with JSON lines and
     * BLOB invoices, order lines, DECIMAL money, foreign keys and secondary indexes. Returns the
     * tables' data and index size as the server reports it.
     */
    private static long loadShop(Connection c, DataSize size) throws SQLException {
        // about 2.3 KiB of table data per customer with its orders and lines
        long customers = Math.max(100, size.bytes() / 2300);
        long products = Math.max(50, customers / 20);
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TABLE product (id INT PRIMARY KEY, sku VARCHAR(20) NOT NULL, name VARCHAR(80) NOT NULL, "
                    + "price DECIMAL(10,2) NOT NULL, attrs JSON, UNIQUE KEY product_sku (sku)) ENGINE=InnoDB");
            st.execute("CREATE TABLE customer (id INT PRIMARY KEY, email VARCHAR(120) NOT NULL, profile JSON, "
                    + "balance DECIMAL(14,2) NOT NULL, created TIMESTAMP(6) NOT NULL, UNIQUE KEY customer_email (email), "
                    + "KEY customer_created (created)) ENGINE=InnoDB");
            st.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, placed DATETIME(3) NOT NULL, "
                    + "total DECIMAL(12,2) NOT NULL, status VARCHAR(12) NOT NULL, items JSON NOT NULL, invoice BLOB, "
                    + "KEY orders_placed (placed), "
                    + "CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customer (id)) ENGINE=InnoDB");
            st.execute("CREATE TABLE order_line (order_id BIGINT NOT NULL, line_no TINYINT NOT NULL, product_id INT NOT NULL, "
                    + "qty SMALLINT NOT NULL, price DECIMAL(10,2) NOT NULL, PRIMARY KEY (order_id, line_no), "
                    + "CONSTRAINT line_order FOREIGN KEY (order_id) REFERENCES orders (id), "
                    + "CONSTRAINT line_product FOREIGN KEY (product_id) REFERENCES product (id)) ENGINE=InnoDB");
            st.execute("SET foreign_key_checks = 0, unique_checks = 0");
            st.execute("INSERT INTO product SELECT seq, CONCAT('SKU-', LPAD(seq, 8, '0')), CONCAT('Product ', seq), "
                    + "(seq % 9973) / 100 + 0.99, JSON_OBJECT('color', ELT(1 + seq % 4, 'red', 'green', 'blue', 'black'), "
                    + "'weight_g', seq % 2000, 'tags', JSON_ARRAY(seq % 7, seq % 13)) FROM seq_1_to_" + products);
            st.execute("INSERT INTO customer SELECT seq, CONCAT('user', seq, '@example.com'), "
                    + "JSON_OBJECT('name', CONCAT('User ', seq), 'newsletter', seq % 3 = 0, 'bio', REPEAT(MD5(seq), 1 + seq % 4)), "
                    + "(seq % 100000) / 100 - 250, TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_" + customers);
            st.execute("INSERT INTO orders SELECT seq, 1 + seq % " + customers + ", "
                    + "TIMESTAMP'2021-01-01 00:00:00' + INTERVAL seq * 7001001 MICROSECOND, (seq % 50000) / 100, "
                    + "ELT(1 + seq % 3, 'paid', 'shipped', 'refunded'), "
                    + "JSON_ARRAY(JSON_OBJECT('sku', seq % " + products + ", 'qty', 1 + seq % 5), JSON_OBJECT('note', MD5(seq))), "
                    + "IF(seq % 4 = 0, RANDOM_BYTES(900), NULL) FROM seq_1_to_" + customers * 4);
            st.execute("INSERT INTO order_line SELECT o.seq, l.seq, 1 + (o.seq * 31 + l.seq) % " + products + ", 1 + l.seq, "
                    + "(o.seq % 9973) / 100 FROM seq_1_to_" + customers * 4 + " o JOIN seq_1_to_2 l");
            st.execute("SET foreign_key_checks = 1, unique_checks = 1");
            st.execute("ANALYZE TABLE product, customer, orders, order_line");
            try (ResultSet rs = st.executeQuery("SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES "
                    + "WHERE TABLE_SCHEMA = DATABASE()")) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static double ms(ValidationResult r, String key) {
        return Long.parseLong(r.measurements().get(key)) / 1000.0;
    }

    private static double secs(long nanos) {
        return nanos / 1e9;
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
