package dev.backstop.testkit;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.DataSize;
import dev.backstop.core.Encryption;
import dev.backstop.core.KeyEncryptionKey;
import dev.backstop.core.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.PgDumpSource;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.RestoreDrill;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The README's main command: a throwaway PostgreSQL with a realistic sample database, a backup
 * (zstd-3 + AEAD) into a local repository, a restore into a second throwaway PostgreSQL, and a
 * fingerprint comparison. Prints a short report; exits 0 only if the restore was proven exact.
 *
 * <pre>
 *   ./mvnw -q -pl backup-testkit -am -DskipTests package exec:java
 *   ./mvnw -q -pl backup-testkit -am -DskipTests package exec:java -Dexec.args="--size=1GiB"
 * </pre>
 *
 * Options: {@code --size=<DataSize>} (default 100MiB), {@code --dir=<path>} (default
 * {@code ./backstop-demo-<time>}, kept so the repository can be inspected).
 */
public final class Demo {
    private Demo() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /** Runs the demo, printing to {@code out}; returns the exit code (0 = verified). */
    public static int run(String[] args, PrintStream out) {
        DataSize size = DataSize.ofMiB(100);
        Path dir = Path.of("backstop-demo-" + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss").withZone(ZoneOffset.UTC)
                .format(Instant.now()));
        for (String a : args) {
            if (a.startsWith("--size=")) {
                size = DataSize.parse(a.substring("--size=".length()));
            } else if (a.startsWith("--dir=")) {
                dir = Path.of(a.substring("--dir=".length()));
            } else {
                out.println("unknown option '" + a + "'; known: --size=<e.g. 100MiB>, --dir=<path>");
                return 2;
            }
        }
        try {
            return demo(size, dir.toAbsolutePath(), out);
        } catch (BackupException | IOException | SQLException e) {
            out.println("NOT VERIFIED: " + e.getMessage());
            return 1;
        }
    }

    private static int demo(DataSize size, Path dir, PrintStream out) throws IOException, SQLException {
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
                return 0;
            }
            out.println("NOT VERIFIED:");
            r.findings().forEach(f -> out.println("  - " + f));
            return 1;
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
