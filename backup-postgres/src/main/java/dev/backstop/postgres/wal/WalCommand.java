package dev.backstop.postgres.wal;

import dev.backstop.core.BackupException;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The {@code archive_command} / {@code restore_command} entry point.
 *
 * <pre>
 * archive_command = 'java -cp … dev.backstop.postgres.wal.WalCommand archive-push /etc/backstop/wal.properties %p %f'
 * restore_command = 'java -cp … dev.backstop.postgres.wal.WalCommand archive-get /etc/backstop/wal.properties %f %p'
 * # and, beside the server, a drainer when a spool is configured:
 * java -cp … dev.backstop.postgres.wal.WalCommand drain /etc/backstop/wal.properties
 * </pre>
 *
 * The properties file: {@code repository} (a directory), {@code system-id}, optional {@code kek}
 * (a Tink keyset file, see LocalKeysetKek) and optional {@code spool} (a local directory). With a
 * spool, {@code archive-push} only queues the file durably and returns at once; {@code drain}
 * uploads the queue. Exit codes: 0 done, 1 file not in the archive (archive-get: end of WAL),
 * 2 bad usage or configuration, 3 failure (PostgreSQL retries archive-push later).
 */
public final class WalCommand {
    private WalCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.err));
    }

    /** Runs one command; returns the exit code. */
    public static int run(String[] args, PrintStream err) {
        if (args.length < 2) {
            err.println("usage: WalCommand archive-push|archive-get|drain <config.properties> [args]");
            return 2;
        }
        Properties cfg = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(args[1]))) {
            cfg.load(in);
        } catch (IOException e) {
            err.println("backstop: cannot read configuration " + args[1] + ": " + e);
            return 2;
        }
        try {
            switch (args[0]) {
                case "archive-push" -> {
                    need(args, 4, "archive-push <config> %p %f");
                    Path source = Path.of(args[2]);
                    String spool = cfg.getProperty("spool");
                    if (spool != null) {
                        WalSpool.at(Path.of(spool)).enqueue(source, args[3]);
                    } else {
                        archive(cfg).put(source, args[3]);
                    }
                    return 0;
                }
                case "archive-get" -> {
                    need(args, 4, "archive-get <config> %f %p");
                    return archive(cfg).get(args[2], Path.of(args[3])) ? 0 : 1;
                }
                case "drain" -> {
                    String spool = require(cfg, "spool");
                    int n = WalSpool.at(Path.of(spool)).drain(archive(cfg));
                    err.println("backstop: drained " + n + " WAL files");
                    return 0;
                }
                default -> {
                    err.println("backstop: unknown command '" + args[0] + "', expected archive-push, archive-get or drain");
                    return 2;
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("backstop: " + e.getMessage());
            return 2;
        } catch (IOException | BackupException e) {
            err.println("backstop: " + args[0] + " failed: " + e.getMessage());
            return 3;
        }
    }

    static WalArchive archive(Properties cfg) {
        String sysid = require(cfg, "system-id");
        long id;
        try {
            id = Long.parseUnsignedLong(sysid.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("system-id: got '" + sysid + "', expected the decimal system identifier "
                    + "from SELECT system_identifier FROM pg_control_system()");
        }
        WalArchive.Builder b = WalArchive.builder(Repository.filesystem(Path.of(require(cfg, "repository"))), id);
        String kek = cfg.getProperty("kek");
        if (kek != null) {
            b.keys(LocalKeysetKek.load(Path.of(kek)));
        }
        return b.build();
    }

    private static String require(Properties cfg, String key) {
        String v = cfg.getProperty(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("configuration: '" + key + "' is missing");
        }
        return v;
    }

    private static void need(String[] args, int n, String usage) {
        if (args.length != n) {
            throw new IllegalArgumentException("usage: " + usage + " (got " + (args.length - 1) + " arguments)");
        }
    }
}
