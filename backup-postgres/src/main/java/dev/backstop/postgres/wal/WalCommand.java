package dev.backstop.postgres.wal;

import dev.backstop.core.BackupException;
import dev.backstop.core.DataSize;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * The {@code archive_command} / {@code restore_command} entry point.
 *
 * <pre>
 * archive_command = 'java -cp … dev.backstop.postgres.wal.WalCommand archive-push /etc/backstop/wal.properties %p %f'
 * restore_command = 'java -cp … dev.backstop.postgres.wal.WalCommand archive-get /etc/backstop/wal.properties %f %p'
 * java -cp … dev.backstop.postgres.wal.WalCommand rpo /etc/backstop/wal.properties     # key=value recovery point
 * </pre>
 *
 * The properties file:
 * <ul>
 * <li>{@code repository} (a directory), {@code system-id}, optional {@code kek} (a Tink keyset file, see LocalKeysetKek);
 * <li>{@code spool} (a local directory): {@code archive-push} only queues the file durably and returns at
 *     once, so PostgreSQL is never blocked on the network. With {@code drainer=spawn} (the default)
 *     it then starts a background drainer ({@code drain --follow}) unless one is running: one per
 *     spool (an OS lock), uploads in order, retries with backoff from {@code drain-backoff-min}
 *     (default 1s) to {@code drain-backoff-max} (60s), exits after {@code drain-idle-exit} (60s)
 *     without work, and the next push starts another. {@code drainer=external}: you run {@code drain}.
 * <li>{@code get-queue} (a local directory) and {@code get-queue-max} (default 256MiB): after serving
 *     segment N, {@code archive-get} starts a background prefetch of the next
 *     {@code get-queue-max / 16 MiB} segments into the queue; later requests are served from it once
 *     verified against the archive's metadata.
 * </ul>
 * Durations read like {@code 500ms}, {@code 10s}, {@code 5m} or ISO-8601 ({@code PT10S}); sizes like
 * {@code 256MiB}. Background processes log to {@code drainer.log} in the spool and {@code prefetch.log}
 * in the queue. Exit codes: 0 done, 1 file not in the archive (archive-get: end of WAL), 2 bad usage
 * or configuration, 3 failure (PostgreSQL retries archive-push later).
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
            err.println("usage: WalCommand archive-push|archive-get|drain|rpo <config.properties> [args]");
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
                    if (spool == null) {
                        archive(cfg).put(source, args[3]);
                        return 0;
                    }
                    boolean spawn = drainerSpawns(cfg);
                    WalSpool s = WalSpool.at(Path.of(spool));
                    s.enqueue(source, args[3]);
                    if (spawn && !WalDrainer.Lock.held(s.directory(), WalDrainer.LOCK_FILE)) {
                        spawn(List.of("drain", args[1], "--follow"), s.directory().resolve("drainer.log"));
                        err.println("backstop: started a background drainer (log: " + s.directory().resolve("drainer.log") + ")");
                    }
                    return 0;
                }
                case "archive-get" -> {
                    need(args, 4, "archive-get <config> %f %p");
                    WalArchive archive = archive(cfg);
                    String name = args[2];
                    Path target = Path.of(args[3]);
                    String queue = cfg.getProperty("get-queue");
                    if (queue == null) {
                        return archive.get(name, target) ? 0 : 1;
                    }
                    WalPrefetcher prefetcher = prefetcher(cfg, archive, err);
                    WalPrefetcher.Source source = prefetcher.serve(name, target);
                    if (source == WalPrefetcher.Source.MISSING) {
                        return 1;
                    }
                    err.println("backstop: archive-get " + name + " served from the " + (source == WalPrefetcher.Source.QUEUE
                            ? "prefetch queue" : "repository"));
                    WalFile file = WalFile.parse(name);
                    if (file.kind() == WalFile.Kind.SEGMENT && !WalDrainer.Lock.held(prefetcher.queue(), WalPrefetcher.LOCK_FILE)) {
                        spawn(List.of("prefetch", args[1], name), prefetcher.queue().resolve("prefetch.log"));
                        err.println("backstop: started a background prefetch after " + name + " (log: "
                                + prefetcher.queue().resolve("prefetch.log") + ")");
                    }
                    return 0;
                }
                case "prefetch" -> {
                    need(args, 3, "prefetch <config> <segment served last>");
                    require(cfg, "get-queue");
                    WalArchive archive = archive(cfg);
                    int n = prefetcher(cfg, archive, err).prefetchAfter(WalFile.parse(args[2]));
                    err.println(n < 0 ? "backstop: another prefetcher holds the queue" : "backstop: prefetched " + n + " WAL files");
                    return 0;
                }
                case "drain" -> {
                    boolean follow = args.length == 3 && args[2].equals("--follow");
                    if (args.length > 3 || args.length == 3 && !follow) {
                        throw new IllegalArgumentException("usage: drain <config> [--follow]");
                    }
                    WalSpool spool = WalSpool.at(Path.of(require(cfg, "spool")));
                    WalArchive archive = archive(cfg);
                    if (!follow) {
                        int n = spool.drain(archive);
                        err.println("backstop: drained " + n + " WAL files");
                        return 0;
                    }
                    WalDrainer drainer = new WalDrainer(spool, archive, duration(cfg, "drain-backoff-min", Duration.ofSeconds(1)),
                            duration(cfg, "drain-backoff-max", Duration.ofSeconds(60)), duration(cfg, "drain-idle-exit", Duration.ofSeconds(60)), err);
                    int n = drainer.follow();
                    err.println("backstop: drainer exits after archiving " + n + " WAL files");
                    return 0;
                }
                case "rpo" -> {
                    need(args, 2, "rpo <config>");
                    WalArchive archive = archive(cfg);
                    String spool = cfg.getProperty("spool");
                    RpoStatus rpo = WalSpool.rpo(archive, spool == null ? null : WalSpool.at(Path.of(spool)), Clock.systemUTC());
                    err.println(rpo);
                    return 0;
                }
                default -> {
                    err.println("backstop: unknown command '" + args[0] + "', expected archive-push, archive-get, drain, prefetch or rpo");
                    return 2;
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("backstop: " + e.getMessage());
            return 2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("backstop: " + args[0] + " interrupted");
            return 3;
        } catch (IOException | BackupException e) {
            err.println("backstop: " + args[0] + " failed: " + e.getMessage());
            return 3;
        }
    }

    private static boolean drainerSpawns(Properties cfg) {
        String d = cfg.getProperty("drainer", "spawn").strip().toLowerCase(Locale.ROOT);
        switch (d) {
            case "spawn" -> {
                // checked before queueing: a drainer that cannot start is a configuration error the admin must see now
                archive(cfg);
                return true;
            }
            case "external" -> {
                return false;
            }
            default -> throw new IllegalArgumentException("drainer: got '" + d + "', expected spawn (archive-push starts a "
                    + "background drainer) or external (you run 'drain')");
        }
    }

    private static WalPrefetcher prefetcher(Properties cfg, WalArchive archive, PrintStream log) throws IOException {
        String max = cfg.getProperty("get-queue-max", "256MiB");
        DataSize size;
        try {
            size = DataSize.parse(max.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("get-queue-max: got '" + max + "', expected a size such as 256MiB: " + e.getMessage());
        }
        if (size.bytes() < WalFile.SEGMENT_BYTES) {
            throw new IllegalArgumentException("get-queue-max: got " + size + ", must hold at least one 16 MiB segment");
        }
        int depth = (int) Math.min(1024, size.bytes() / WalFile.SEGMENT_BYTES);
        Path dir = Path.of(require(cfg, "get-queue")).resolve(Long.toUnsignedString(archive.systemId()));
        return new WalPrefetcher(archive, dir, depth, log);
    }

    /**
     * Starts {@code WalCommand <args>} in a JVM of its own that outlives this one, detached with
     * setsid where it exists: PostgreSQL signals its archiver's whole process group at shutdown,
     * and a drainer should finish the queue rather than die with it.
     */
    private static void spawn(List<String> args, Path log) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid");
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(WalCommand.class.getName());
        cmd.addAll(args);
        new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    static Duration duration(Properties cfg, String key, Duration def) {
        String v = cfg.getProperty(key);
        if (v == null) {
            return def;
        }
        String t = v.strip().toLowerCase(Locale.ROOT);
        try {
            Duration d;
            if (t.startsWith("pt")) {
                d = Duration.parse(t);
            } else if (t.endsWith("ms")) {
                d = Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            } else if (t.endsWith("s")) {
                d = Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
            } else if (t.endsWith("m")) {
                d = Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
            } else {
                throw new NumberFormatException();
            }
            if (d.isNegative() || d.isZero()) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException | DateTimeParseException e) {
            throw new IllegalArgumentException(key + ": got '" + v + "', expected a positive duration such as 500ms, 10s, 5m or PT10S");
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
