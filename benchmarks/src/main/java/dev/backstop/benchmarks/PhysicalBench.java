package dev.backstop.benchmarks;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.physical.BackupLevel;
import dev.backstop.postgres.physical.BaseBackupSource;
import dev.backstop.postgres.physical.DataDirectorySource;
import dev.backstop.postgres.physical.PointInTimeRecovery;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The Backstop side of {@code benchmarks/compare-physical.sh}: one base backup or one restore per
 * process, printing {@code key=value} lines. Not a public API.
 *
 * <pre>
 *   backup  --port=P --repo=DIR --kek=FILE [--level=3] [--zstd-workers=2]
 *           [--source=basebackup|datadir] [--pgdata=DIR] [--backup-level=full|diff|incr]
 *           (basebackup, the default, pipes pg_basebackup; datadir reads the data directory DIR itself; a
 *           backup level makes a datadir backup build on the repository's earlier ones)
 *   restore --repo=DIR --kek=FILE --id=BACKUP_ID --target=DIR [--pipelining=true] [--direct-io=true]
 *           (extract + pg_verifybackup, no start; pipelining false decodes on one thread as before Restore had a
 *           decode thread; direct-io false writes the files through the page cache)
 * </pre>
 * Connects to 127.0.0.1 as {@code postgres}; a password, if needed, comes from {@code BACKSTOP_PGPASSWORD}.
 */
public final class PhysicalBench {
    private PhysicalBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: PhysicalBench backup|restore --option=value ...");
        }
        BenchOptions o = BenchOptions.parse(args, 1);
        long start = System.nanoTime();
        switch (args[0]) {
            case "backup" -> {
                PgEndpoint ep = PgEndpoint.of("127.0.0.1", Integer.parseInt(o.req("port")), "postgres", System.getenv("BACKSTOP_PGPASSWORD"));
                Path kekFile = Path.of(o.req("kek"));
                // a bench work directory starts without a KEK: its first backup makes one, the rest load it
                KeyEncryptionKey kek = Files.exists(kekFile) ? LocalKeysetKek.load(kekFile) : LocalKeysetKek.create(kekFile);
                Repository repo = Repository.filesystem(Path.of(o.req("repo")));
                Manifest m = BackupPipeline.builder()
                        .source(source(o, ep, repo, kek))
                        .compress(ZstdTransform.builder().level(Integer.parseInt(o.getOrDefault("level", "3")))
                                .workers(Integer.parseInt(o.getOrDefault("zstd-workers", "2"))).build())
                        .encrypt(Encryption.with(kek))
                        .repository(repo).build().run();
                System.out.println("backup_id=" + m.id());
                System.out.println("backup_level=" + m.attributes().getOrDefault("postgresql.backup_level", "full"));
                System.out.println("plaintext_bytes=" + m.plaintextBytes());
                System.out.println("stored_bytes=" + m.storedBytes());
            }
            case "restore" -> {
                Restore restore = Restore.builder().repository(Repository.filesystem(Path.of(o.req("repo"))))
                        .keys(LocalKeysetKek.load(Path.of(o.req("kek"))))
                        .pipelining(flag(o.getOrDefault("pipelining", "true"), "pipelining")).build();
                Manifest m = restore.manifest(BackupId.parse(o.req("id")));
                int files = PointInTimeRecovery.builder(restore, m).directIo(flag(o.getOrDefault("direct-io", "true"), "direct-io"))
                        .build().restoreTo(Path.of(o.req("target")));
                System.out.println("files=" + files);
            }
            default -> throw new IllegalArgumentException("command '" + args[0] + "': expected backup or restore");
        }
        System.out.printf(Locale.ROOT, "seconds=%.3f%n", (System.nanoTime() - start) / 1e9);
    }

    private static CaptureSource source(BenchOptions o, PgEndpoint ep, Repository repo, KeyEncryptionKey kek) {
        String source = o.getOrDefault("source", "basebackup");
        String level = o.getOrDefault("backup-level", "");
        return switch (source) {
            case "basebackup" -> BaseBackupSource.builder(ep).build();
            case "datadir" -> level.isEmpty() ? DataDirectorySource.builder(ep, Path.of(o.req("pgdata"))).build()
                    : DataDirectorySource.builder(ep, Path.of(o.req("pgdata"))).level(BackupLevel.ofLabel(level))
                            .parents(Restore.builder().repository(repo).keys(kek).build()).build();
            default -> throw new IllegalArgumentException("--source: got '" + source + "', allowed basebackup or datadir");
        };
    }

    private static boolean flag(String value, String name) {
        if (!value.equals("true") && !value.equals("false")) {
            throw new IllegalArgumentException("--" + name + ": got '" + value + "', allowed true or false");
        }
        return value.equals("true");
    }

}
