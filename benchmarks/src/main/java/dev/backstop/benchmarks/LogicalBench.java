package dev.backstop.benchmarks;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.DataSize;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.logical.DumpFormat;
import dev.backstop.postgres.logical.FingerprintMethod;
import dev.backstop.postgres.logical.PgDumpSource;
import dev.backstop.postgres.logical.PostgresRestore;
import dev.backstop.testkit.RealisticFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Locale;

/**
 * The Backstop side of {@code benchmarks/compare-logical.sh}: one backup, one restore or one
 * fixture load per process, each printing {@code key=value} lines. Not a public API.
 *
 * <pre>
 *   backup  --port=P --db=D --repo=DIR --kek=FILE [--format=custom] [--level=3] [--zstd-workers=0]
 *           [--fingerprints=true|false|stream|server|none]
 *   restore --port=P --db=TARGET --repo=DIR --kek=FILE --id=BACKUP_ID [--jobs=2] [--streaming=true]
 *   load    --port=P --db=D --size=1536MiB
 *   serve   (reads one of the commands above per line from standard input, answers with its
 *            key=value lines and then "end": a long-lived JVM, as a service embedding the library)
 * </pre>
 * Connects to 127.0.0.1 as {@code postgres}; a password, if the server needs one, comes from
 * the environment variable {@code BACKSTOP_PGPASSWORD}.
 */
public final class LogicalBench {
    private LogicalBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: LogicalBench backup|restore|load|serve --option=value ...");
        }
        if (args[0].equals("serve")) {
            serve();
            return;
        }
        run(args);
    }

    private static void serve() throws java.io.IOException {
        java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in,
                java.nio.charset.StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank()) {
                continue;
            }
            try {
                run(line.trim().split("\\s+"));
            } catch (Exception e) {
                System.out.println("error=" + e.toString().replace('\n', ' '));
            }
            System.out.println("end");
            System.out.flush();
        }
    }

    private static void run(String[] args) throws Exception {
        BenchOptions o = BenchOptions.parse(args, 1);
        PgEndpoint ep = PgEndpoint.of("127.0.0.1", Integer.parseInt(o.req("port")), "postgres", System.getenv("BACKSTOP_PGPASSWORD"));
        long start = System.nanoTime();
        switch (args[0]) {
            case "backup" -> {
                Repository repo = Repository.filesystem(Path.of(o.req("repo")));
                Path kekFile = Path.of(o.req("kek"));
                // a bench work directory starts without a KEK: its first backup makes one, the rest load it
                KeyEncryptionKey kek = Files.exists(kekFile) ? LocalKeysetKek.load(kekFile) : LocalKeysetKek.create(kekFile);
                Manifest m = BackupPipeline.builder()
                        .source(PgDumpSource.builder(ep, o.req("db"))
                                .format(DumpFormat.fromLabel(o.getOrDefault("format", "custom")))
                                .fingerprints(fingerprintMethod(o.getOrDefault("fingerprints", "true"))).build())
                        .compress(ZstdTransform.builder().level(Integer.parseInt(o.getOrDefault("level", "3")))
                                .workers(Integer.parseInt(o.getOrDefault("zstd-workers", "0"))).build())
                        .encrypt(Encryption.with(kek))
                        .repository(repo).build().run();
                System.out.println("backup_id=" + m.id());
                System.out.println("plaintext_bytes=" + m.plaintextBytes());
                System.out.println("stored_bytes=" + m.storedBytes());
            }
            case "restore" -> {
                Restore restore = Restore.builder().repository(Repository.filesystem(Path.of(o.req("repo"))))
                        .keys(LocalKeysetKek.load(Path.of(o.req("kek")))).build();
                Manifest m = restore.manifest(BackupId.parse(o.req("id")));
                PostgresRestore.Report r = PostgresRestore.builder(restore, ep, o.req("db"))
                        .jobs(Integer.parseInt(o.getOrDefault("jobs", "2")))
                        .streaming(Boolean.parseBoolean(o.getOrDefault("streaming", "true"))).build().run(m);
                System.out.printf(Locale.ROOT, "fetch_seconds=%.3f%nload_seconds=%.3f%ndata_sessions=%d%n",
                        r.fetchAndVerify().toNanos() / 1e9, r.load().toNanos() / 1e9, r.dataSessions());
            }
            case "load" -> {
                try (Connection c = ep.connect(o.req("db"))) {
                    long bytes = RealisticFixture.ofSize(DataSize.parse(o.req("size"))).load(c);
                    System.out.println("db_bytes=" + bytes);
                }
            }
            default -> throw new IllegalArgumentException("command '" + args[0] + "': expected backup, restore or load");
        }
        System.out.printf(Locale.ROOT, "seconds=%.3f%n", (System.nanoTime() - start) / 1e9);
    }


    /** true and false as before the methods existed, or a {@link FingerprintMethod} by name. */
    private static FingerprintMethod fingerprintMethod(String value) {
        return switch (value) {
            case "true" -> FingerprintMethod.STREAM;
            case "false" -> FingerprintMethod.NONE;
            default -> FingerprintMethod.valueOf(value.toUpperCase(java.util.Locale.ROOT));
        };
    }
}
