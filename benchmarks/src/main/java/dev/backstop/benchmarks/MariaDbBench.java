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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The Backstop side of {@code benchmarks/compare-mysql.sh}: one backup or one restore per
 * process, each printing {@code key=value} lines. Not a public API.
 *
 * <pre>
 *   backup  --port=P --db=D --repo=DIR --kek=FILE [--level=3] [--fingerprints=true]
 *   restore --port=P --db=TARGET --repo=DIR --kek=FILE --id=BACKUP_ID [--binlog=true]
 * </pre>
 * Connects to 127.0.0.1 as the user in {@code BACKSTOP_MARIADB_USER} (default {@code bench}) with
 * the password in {@code BACKSTOP_MARIADB_PASSWORD}.
 */
public final class MariaDbBench {
    private MariaDbBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: MariaDbBench backup|restore --option=value ...");
        }
        Map<String, String> o = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || !args[i].contains("=")) {
                throw new IllegalArgumentException("option: got '" + args[i] + "', expected --name=value");
            }
            o.put(args[i].substring(2, args[i].indexOf('=')), args[i].substring(args[i].indexOf('=') + 1));
        }
        String user = System.getenv().getOrDefault("BACKSTOP_MARIADB_USER", "bench");
        MariaDbEndpoint ep = MariaDbEndpoint.of("127.0.0.1", Integer.parseInt(req(o, "port")), user,
                System.getenv("BACKSTOP_MARIADB_PASSWORD"));
        Path kekFile = Path.of(req(o, "kek"));
        KeyEncryptionKey kek = Files.exists(kekFile) ? LocalKeysetKek.load(kekFile) : LocalKeysetKek.create(kekFile);
        Repository repo = Repository.filesystem(Path.of(req(o, "repo")));
        long start = System.nanoTime();
        switch (args[0]) {
            case "backup" -> {
                Manifest m = BackupPipeline.builder()
                        .source(MariaDbDumpSource.builder(ep, req(o, "db"))
                                .fingerprints(Boolean.parseBoolean(o.getOrDefault("fingerprints", "true"))).build())
                        .compress(ZstdTransform.level(Integer.parseInt(o.getOrDefault("level", "3"))))
                        .encrypt(Encryption.with(kek))
                        .repository(repo)
                        .build().run();
                System.out.println("id=" + m.id());
                System.out.println("plaintext_bytes=" + m.plaintextBytes());
                System.out.println("stored_bytes=" + m.storedBytes());
            }
            case "restore" -> {
                Restore restore = Restore.builder().repository(repo).keys(kek).build();
                Manifest m = restore.manifest(BackupId.parse(req(o, "id")));
                MariaDbRestore.Report r = MariaDbRestore.builder(restore, ep, req(o, "db"))
                        .writeBinlog(Boolean.parseBoolean(o.getOrDefault("binlog", "true"))).build().run(m);
                System.out.println("plaintext_bytes=" + r.plaintextBytes());
                System.out.println("load_ms=" + r.fetchVerifyAndLoad().toMillis());
                System.out.println("move_ms=" + r.move().toMillis());
            }
            default -> throw new IllegalArgumentException("command: got '" + args[0] + "', expected backup or restore");
        }
        System.out.printf("seconds=%.3f%n", (System.nanoTime() - start) / 1e9);
    }

    private static String req(Map<String, String> o, String name) {
        String v = o.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }
}
