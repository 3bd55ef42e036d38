package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.BackupException;
import dev.backstop.postgres.wal.RpoStatus;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalDrainer;
import dev.backstop.postgres.wal.WalFile;
import dev.backstop.postgres.wal.WalPrefetcher;
import dev.backstop.postgres.wal.WalReceiver;
import dev.backstop.postgres.wal.WalSpool;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code backstop wal}: PostgreSQL's {@code archive_command} and {@code restore_command}, into the
 * configured repository (a directory or S3) with the configured encryption (a keyset or KMS), as
 * {@code backup.wal} in the configuration sets them up.
 *
 * <pre>
 * archive_command = 'backstop wal archive-push %p %f --config /etc/backstop/backstop.json'
 * restore_command = 'backstop wal archive-get %f %p --config /etc/backstop/backstop.json'
 * backstop wal rpo                      # key=value recovery point
 * backstop wal receive --work-dir /var/lib/backstop/wal-receive   # or stream it, as pg_receivewal does
 * </pre>
 *
 * With {@code backup.wal.spool}, archive-push only queues the file durably and returns at once,
 * so PostgreSQL is never blocked on the network; a background drainer ({@code wal drain --follow},
 * started by archive-push unless {@code "drainer": "external"}) uploads in order, one per spool.
 * With {@code backup.wal.getQueue}, archive-get prefetches the next segments in the background.
 * Background processes log to {@code drainer.log} in the spool and {@code prefetch.log} in the queue.
 *
 * <p>Exit codes, as PostgreSQL reads them: {@value Backstop#OK} done, {@value #NOT_IN_ARCHIVE}
 * the file is not in the archive (archive-get: the end of the archived WAL), {@value Backstop#USAGE}
 * usage or configuration error, {@value #FAILED} failure (PostgreSQL keeps the file and retries
 * archive-push later).
 */
@Command(name = "wal", description = "PostgreSQL WAL archiving: archive_command and restore_command into the configured "
        + "repository and encryption (backup.wal in the configuration).",
        subcommands = {WalCommands.Push.class, WalCommands.Get.class, WalCommands.Drain.class, WalCommands.Prefetch.class,
                WalCommands.Rpo.class, WalCommands.Receive.class},
        footerHeading = "%nExit codes:%n",
        footer = {"  0  done", "  1  archive-get: the file is not in the archive (PostgreSQL ends recovery there)",
                "  2  usage or configuration error", "  3  failure (PostgreSQL retries archive-push later)"})
final class WalCommands implements Callable<Integer> {
    /** archive-get: the archive does not hold the file. */
    static final int NOT_IN_ARCHIVE = 1;
    /** A wal command failed; PostgreSQL retries an archive_command that failed. */
    static final int FAILED = 3;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "wal: give archive-push, archive-get, drain, prefetch, rpo or receive");
    }

    /**
     * A wal command: reads the configuration, runs, and maps failures onto the exit codes
     * PostgreSQL acts on (never the rest of the command line's codes).
     */
    abstract static class WalBase extends Commands.Base {
        PrintStream log;

        @Override
        public Integer call() {
            root = (Backstop) spec.root().userObject();
            log = lines(root.err);
            String name = spec.qualifiedName();
            try {
                BackstopConfig c = BackstopConfig.load(config, root.env);
                try (Context ctx = new Context(c)) {
                    return run(ctx);
                }
            } catch (ConfigException | IllegalArgumentException e) {
                root.err.println(name + ": " + e.getMessage());
                return Backstop.USAGE;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                root.err.println(name + " interrupted");
                return FAILED;
            } catch (IOException | UncheckedIOException | BackupException e) {
                root.err.println(name + " failed: " + e.getMessage());
                return FAILED;
            } catch (Exception e) {
                root.err.println(name + " failed: " + e);
                return FAILED;
            } finally {
                log.flush();
            }
        }

        BackstopConfig.Wal settings(Context ctx) {
            return ctx.config().wal().orElseThrow(() -> new ConfigException("backup.wal", "missing; expected "
                    + "{\"systemId\": \"<SELECT system_identifier FROM pg_control_system()>\", ...}"));
        }

        WalArchive archive(Context ctx) {
            return WalCommands.archive(ctx, settings(ctx));
        }

        WalPrefetcher prefetcher(Context ctx, WalArchive archive) throws IOException {
            BackstopConfig.Wal w = settings(ctx);
            Path queue = w.getQueue().orElseThrow(() -> new ConfigException("backup.wal.getQueue",
                    "missing; expected the directory archive-get prefetches into"));
            int depth = (int) Math.min(1024, w.getQueueMax().bytes() / WalFile.SEGMENT_BYTES);
            return new WalPrefetcher(archive, queue.resolve(Long.toUnsignedString(archive.systemId())), depth, log);
        }

        /**
         * Starts {@code backstop wal <args>} in a JVM of its own that outlives this one, detached
         * with setsid where it exists: PostgreSQL signals its archiver's whole process group at
         * shutdown, and a drainer should finish the queue rather than die with it.
         */
        void spawn(List<String> args, Path logFile) throws IOException {
            List<String> cmd = new ArrayList<>();
            if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
                cmd.add("/usr/bin/setsid");
            }
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(Backstop.class.getName());
            cmd.add("wal");
            cmd.addAll(args);
            cmd.add("--config");
            cmd.add(config.toAbsolutePath().toString());
            ProcessBuilder pb = new ProcessBuilder(cmd);
            // the configuration interpolates the same variables in the child as here
            pb.environment().putAll(root.env);
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
        }
    }

    @Command(name = "archive-push", description = "PostgreSQL's archive_command: archive the WAL file at PATH as NAME "
            + "(%%p %%f). With backup.wal.spool it only queues the file and a background drainer uploads it.")
    static final class Push extends WalBase {
        @Parameters(index = "0", paramLabel = "PATH", description = "The file (%%p).")
        Path source;

        @Parameters(index = "1", paramLabel = "NAME", description = "Its WAL file name (%%f).")
        String name;

        @Override
        int run(Context ctx) throws IOException {
            BackstopConfig.Wal w = settings(ctx);
            if (w.spool().isEmpty()) {
                archive(ctx).put(source, name);
                return Backstop.OK;
            }
            if (w.spawnDrainer()) {
                // checked before queueing: a drainer that cannot start is a configuration error the admin must see now
                archive(ctx);
            }
            WalSpool s = WalSpool.at(w.spool().get());
            s.enqueue(source, name);
            if (w.spawnDrainer() && !WalDrainer.running(s)) {
                Path logFile = s.directory().resolve("drainer.log");
                spawn(List.of("drain", "--follow"), logFile);
                root.err.println("backstop: started a background drainer (log: " + logFile + ")");
            }
            return Backstop.OK;
        }
    }

    @Command(name = "archive-get", description = "PostgreSQL's restore_command: write the archived WAL file NAME to PATH "
            + "(%%f %%p); exit 1 if the archive does not hold it. With backup.wal.getQueue the next segments are prefetched.")
    static final class Get extends WalBase {
        @Parameters(index = "0", paramLabel = "NAME", description = "The WAL file name (%%f).")
        String name;

        @Parameters(index = "1", paramLabel = "PATH", description = "Where to write it (%%p).")
        Path target;

        @Option(names = "--system-id", paramLabel = "ID", description = "The archive of this system identifier instead of "
                + "backup.wal.systemId (backstop restore --to writes it into the restored server's restore_command).")
        String systemId;

        @Override
        int run(Context ctx) throws IOException {
            if (systemId != null) {
                // a restored cluster recovering from a repository: no spool, no queue, maybe no backup.wal at all
                WalArchive.Builder b = WalArchive.builder(ctx.repository(), Long.parseUnsignedLong(systemId));
                ctx.kek().ifPresent(b::keys);
                return b.build().get(name, target) ? Backstop.OK : NOT_IN_ARCHIVE;
            }
            WalArchive archive = archive(ctx);
            if (settings(ctx).getQueue().isEmpty()) {
                return archive.get(name, target) ? Backstop.OK : NOT_IN_ARCHIVE;
            }
            WalPrefetcher prefetcher = prefetcher(ctx, archive);
            WalPrefetcher.Source source = prefetcher.serve(name, target);
            if (source == WalPrefetcher.Source.MISSING) {
                return NOT_IN_ARCHIVE;
            }
            root.err.println("backstop: archive-get " + name + " served from the " + (source == WalPrefetcher.Source.QUEUE
                    ? "prefetch queue" : "repository"));
            WalFile file = WalFile.parse(name);
            if (file.kind() == WalFile.Kind.SEGMENT && !prefetcher.running()) {
                Path logFile = prefetcher.queue().resolve("prefetch.log");
                spawn(List.of("prefetch", name), logFile);
                root.err.println("backstop: started a background prefetch after " + name + " (log: " + logFile + ")");
            }
            return Backstop.OK;
        }
    }

    @Command(name = "prefetch", description = "Fetch the segments after SEGMENT into backup.wal.getQueue (archive-get "
            + "starts it in the background).")
    static final class Prefetch extends WalBase {
        @Parameters(paramLabel = "SEGMENT", description = "The segment served last.")
        String segment;

        @Override
        int run(Context ctx) throws IOException {
            WalArchive archive = archive(ctx);
            int n = prefetcher(ctx, archive).prefetchAfter(WalFile.parse(segment));
            root.err.println(n < 0 ? "backstop: another prefetcher holds the queue" : "backstop: prefetched " + n + " WAL files");
            return Backstop.OK;
        }
    }

    @Command(name = "drain", description = "Upload what backup.wal.spool holds, in order. --follow: keep draining until "
            + "the spool stayed empty for backup.wal.drainIdleExit (archive-push starts this in the background).")
    static final class Drain extends WalBase {
        @Option(names = "--follow", description = "Keep draining, backing off on failures, until idle.")
        boolean follow;

        @Override
        int run(Context ctx) throws IOException, InterruptedException {
            BackstopConfig.Wal w = settings(ctx);
            WalSpool spool = WalSpool.at(w.spool().orElseThrow(() -> new ConfigException("backup.wal.spool",
                    "missing; expected the spool directory archive-push queues into")));
            WalArchive archive = archive(ctx);
            if (!follow) {
                int n = spool.drain(archive);
                root.err.println("backstop: drained " + n + " WAL files");
                return Backstop.OK;
            }
            WalDrainer drainer = new WalDrainer(spool, archive, w.drainBackoffMin(), w.drainBackoffMax(), w.drainIdleExit(), log);
            int n = drainer.follow();
            log.flush();
            root.err.println("backstop: drainer exits after archiving " + n + " WAL files");
            return Backstop.OK;
        }
    }

    @Command(name = "rpo", description = "Print the recovery point of the archive (and of the spool in front of it) as "
            + "key=value.")
    static final class Rpo extends WalBase {
        @Override
        int run(Context ctx) throws IOException {
            WalArchive archive = archive(ctx);
            WalSpool spool = settings(ctx).spool().isPresent() ? WalSpool.at(settings(ctx).spool().get()) : null;
            RpoStatus rpo = WalSpool.rpo(archive, spool, Clock.systemUTC());
            root.err.println(rpo);
            return Backstop.OK;
        }
    }

    @Command(name = "receive", description = "Stream the configured server's WAL into the repository in the foreground, as "
            + "pg_receivewal does, over a physical replication slot (created if missing; the role needs REPLICATION): each "
            + "segment archived whole once complete, the one being written as deltas every 200 ms. Runs until SIGTERM (exit "
            + "143; the slot keeps what is not archived yet, and the next start resumes where the archive ends), or until "
            + "the receiver stops by itself: a server of another system identifier (exit 1).")
    static final class Receive extends Commands.Base {
        /** How often the foreground command looks whether the receiver stopped by itself. */
        private static final long LOOK_MS = 500;

        @Option(names = "--work-dir", paramLabel = "DIR", description = "A local directory for the segment "
                + "being received (durable disk; one per slot); default backup.wal.receive.workDir.")
        Path workDir;

        @Option(names = "--slot", paramLabel = "NAME", description = "The physical replication slot "
                + "(default backup.wal.receive.slot, else backstop).")
        String slot;

        @Override
        int run(Context ctx) throws IOException, InterruptedException {
            BackstopConfig.Wal wal = ctx.config().wal().orElseThrow(() -> new ConfigException("backup.wal",
                    "missing; expected {\"systemId\": \"<SELECT system_identifier FROM pg_control_system()>\"}"));
            WalArchive archive = archive(ctx, wal);
            if (workDir == null) {
                workDir = wal.receive().map(BackstopConfig.Receive::workDir).orElseThrow(() -> new ParameterException(
                        spec.commandLine(), "--work-dir: missing, and backup.wal.receive.workDir is not set"));
            }
            if (slot == null) {
                slot = wal.receive().map(BackstopConfig.Receive::slot).orElse(BackstopConfig.Receive.DEFAULT_SLOT);
            }
            Files.createDirectories(workDir);
            WalReceiver receiver;
            try {
                receiver = WalReceiver.builder(ctx.endpoint(), archive).slot(slot).workDir(workDir).build();
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--slot: " + e.getMessage());
            }
            StopSignal signal = StopSignal.install("backstop-wal-shutdown", () -> {
                // SIGTERM: stop receiving; the deltas stored up to now are in the repository, the slot holds the rest
                receiver.close();
                root.err.println("wal receive: stopped" + position(receiver));
                root.err.flush();
            });
            try {
                receiver.start();
                root.err.println("wal receive: receiving " + ctx.endpoint() + " into " + archive.stream() + " over slot " + slot
                        + ", work directory " + workDir);
                root.err.flush();
                while (!signal.awaitStop(LOOK_MS)) {
                    if (!receiver.isRunning()) {
                        root.err.println("wal receive: stopped: " + receiver.status().lastError() + position(receiver));
                        return Backstop.FAILURE;
                    }
                }
                return Backstop.OK;
            } finally {
                signal.close();
                receiver.close();
            }
        }

        private static String position(WalReceiver r) {
            WalReceiver.Status s = r.status();
            return s.archivedLsn() == 0 ? "" : "; archived up to " + WalFile.formatLsn(s.archivedLsn()) + " on timeline " + s.timeline();
        }
    }

    /** The WAL archive the configuration names ({@code backup.wal.systemId}), with the configured keys. */
    static WalArchive archive(Context ctx, BackstopConfig.Wal wal) {
        long id = wal.systemId().orElseThrow(() -> new ConfigException("backup.wal.systemId",
                "missing; expected the decimal system identifier from SELECT system_identifier FROM pg_control_system()"));
        WalArchive.Builder b = WalArchive.builder(ctx.repository(), id);
        ctx.kek().ifPresent(b::keys);
        return b.build();
    }

    /** A stream onto {@code w} for the WAL classes that log to a {@link PrintStream}: whole lines, in order. */
    static PrintStream lines(PrintWriter w) {
        return new PrintStream(new OutputStream() {
            private final ByteArrayOutputStream line = new ByteArrayOutputStream();

            @Override
            public void write(int b) {
                if (b == '\n') {
                    w.println(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                } else {
                    line.write(b);
                }
            }

            @Override
            public void flush() {
                if (line.size() > 0) {
                    w.print(line.toString(StandardCharsets.UTF_8));
                    line.reset();
                }
                w.flush();
            }
        }, true, StandardCharsets.UTF_8);
    }
}
