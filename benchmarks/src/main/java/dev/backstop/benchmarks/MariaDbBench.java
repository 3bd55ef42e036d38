package dev.backstop.benchmarks;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.mysql.MariaDbDumpSource;
import dev.backstop.mysql.MariaDbEndpoint;
import dev.backstop.mysql.MariaDbRestore;
import dev.backstop.mysql.physical.MariaDbBackupSource;
import dev.backstop.mysql.physical.MariaDbPhysicalRestore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The Backstop side of {@code benchmarks/compare-mysql.sh} and {@code
 * benchmarks/compare-mysql-physical.sh}: one backup or one restore per command, each printing
 * {@code key=value} lines. Not a public API.
 *
 * <pre>
 *   backup           --port=P --db=D --repo=DIR --kek=FILE [--level=3] [--zstd-workers=0] [--fingerprints=true]
 *   restore          --port=P --db=TARGET --repo=DIR --kek=FILE --id=BACKUP_ID [--binlog=true]
 *   physical-backup  --port=P --repo=DIR --kek=FILE [--level=3] [--zstd-workers=0] [--parallel=1] [--work=DIR]
 *   physical-restore --repo=DIR --kek=FILE --id=BACKUP_ID --datadir=DIR
 *   serve            (reads one of the commands above per line from standard input, answers with its
 *                     key=value lines and then "end": a long-lived JVM, as a service embedding the library)
 * </pre>
 * Connects to 127.0.0.1 as the user in {@code BACKSTOP_MARIADB_USER} (default {@code bench}) with
 * the password in {@code BACKSTOP_MARIADB_PASSWORD}.
 */
public final class MariaDbBench {
    /** The keys of a long-lived JVM, by file: a service loads its KEK once, not per backup. */
    private static final Map<Path, KeyEncryptionKey> KEKS = new HashMap<>();

    private MariaDbBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: MariaDbBench backup|restore|physical-backup|physical-restore|serve "
                    + "--option=value ...");
        }
        if (args[0].equals("serve")) {
            serve();
            return;
        }
        run(args);
    }

    private static void serve() throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
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

    private static void run(String[] args) throws IOException {
        BenchOptions o = BenchOptions.parse(args, 1);
        KeyEncryptionKey kek = kek(Path.of(o.req("kek")));
        Repository repo = Repository.filesystem(Path.of(o.req("repo")));
        long start = System.nanoTime();
        switch (args[0]) {
            case "backup" -> {
                Manifest m = BackupPipeline.builder()
                        .source(MariaDbDumpSource.builder(endpoint(o), o.req("db"))
                                .fingerprints(Boolean.parseBoolean(o.getOrDefault("fingerprints", "true"))).build())
                        .compress(ZstdTransform.builder().level(Integer.parseInt(o.getOrDefault("level", "3")))
                                .workers(Integer.parseInt(o.getOrDefault("zstd-workers", "0"))).build())
                        .encrypt(Encryption.with(kek))
                        .repository(repo)
                        .build().run();
                printBackup(m);
            }
            case "restore" -> {
                Restore restore = Restore.builder().repository(repo).keys(kek).build();
                Manifest m = restore.manifest(BackupId.parse(o.req("id")));
                MariaDbRestore.Report r = MariaDbRestore.builder(restore, endpoint(o), o.req("db"))
                        .writeBinlog(Boolean.parseBoolean(o.getOrDefault("binlog", "true"))).build().run(m);
                System.out.println("plaintext_bytes=" + r.plaintextBytes());
                System.out.println("load_ms=" + r.fetchVerifyAndLoad().toMillis());
                System.out.println("move_ms=" + r.move().toMillis());
            }
            case "physical-backup" -> {
                MariaDbBackupSource.Builder source = MariaDbBackupSource.builder(endpoint(o))
                        .parallel(Integer.parseInt(o.getOrDefault("parallel", "1")));
                if (o.getOrDefault("work", null) != null) {
                    source.workDir(Path.of(o.req("work")));
                }
                Manifest m = BackupPipeline.builder()
                        .source(source.build())
                        .compress(ZstdTransform.builder().level(Integer.parseInt(o.getOrDefault("level", "3")))
                                .workers(Integer.parseInt(o.getOrDefault("zstd-workers", "0"))).build())
                        .encrypt(Encryption.with(kek))
                        .repository(repo)
                        .build().run();
                printBackup(m);
            }
            case "physical-restore" -> {
                Restore restore = Restore.builder().repository(repo).keys(kek).build();
                Manifest m = restore.manifest(BackupId.parse(o.req("id")));
                MariaDbPhysicalRestore.Report r = MariaDbPhysicalRestore.builder(restore).build()
                        .toDataDirectory(m, Path.of(o.req("datadir")));
                System.out.println("stream_bytes=" + r.streamBytes());
                System.out.println("fetch_and_extract_ms=" + r.fetchAndExtract().toMillis());
                System.out.println("prepare_ms=" + r.prepare().toMillis());
                System.out.println("move_back_ms=" + r.place().toMillis());
            }
            default -> throw new IllegalArgumentException("command: got '" + args[0]
                    + "', expected backup, restore, physical-backup or physical-restore");
        }
        System.out.printf(Locale.ROOT, "seconds=%.3f%n", (System.nanoTime() - start) / 1e9);
    }

    private static MariaDbEndpoint endpoint(BenchOptions o) {
        String user = System.getenv().getOrDefault("BACKSTOP_MARIADB_USER", "bench");
        return MariaDbEndpoint.of("127.0.0.1", Integer.parseInt(o.req("port")), user, System.getenv("BACKSTOP_MARIADB_PASSWORD"));
    }

    /** A bench work directory starts without a KEK: its first backup makes one, the rest load it. */
    private static KeyEncryptionKey kek(Path file) {
        return KEKS.computeIfAbsent(file.toAbsolutePath(), f -> Files.exists(f) ? LocalKeysetKek.load(f) : LocalKeysetKek.create(f));
    }

    private static void printBackup(Manifest m) {
        System.out.println("id=" + m.id());
        System.out.println("plaintext_bytes=" + m.plaintextBytes());
        System.out.println("stored_bytes=" + m.storedBytes());
    }
}
