package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.core.log.LogFile;
import dev.backstop.core.log.LogGap;
import dev.backstop.mysql.binlog.BinlogArchive;
import dev.backstop.mysql.binlog.BinlogReceiver;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code backstop binlog}: MariaDB/MySQL binlog streaming into the configured repository and
 * encryption, as {@code backup.binlog} sets it up.
 *
 * <pre>
 * backstop binlog stream --config /etc/backstop/backstop.json   # foreground; SIGTERM stops it
 * backstop binlog status                                        # what the archive holds, from where it is continuous
 * </pre>
 */
@Command(name = "binlog", description = "MariaDB/MySQL binlog streaming into the configured repository and encryption "
        + "(backup.binlog in the configuration).", subcommands = {BinlogCommands.Stream.class, BinlogCommands.Status.class})
final class BinlogCommands implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "binlog: give stream or status");
    }

    @Command(name = "stream", description = "Receive the configured server's binlog into the repository in the foreground, "
            + "as a replica would (mariadb-binlog): each completed file archived whole, the file being written as deltas every "
            + "pollInterval. Runs until SIGTERM (exit 143; what was received up to the last poll is archived), or until the "
            + "receiver stops on its own: a binlog purged before it was archived (a gap), a server of another id (exit 1).")
    static final class Stream extends Commands.Base {
        /** How often the foreground command looks whether the receiver stopped by itself. */
        private static final long LOOK_MS = 500;

        @Option(names = "--spool", paramLabel = "DIR", description = "The local directory received files are written into. "
                + "Default: backup.binlog.spool.")
        Path spool;

        @Override
        int run(Context ctx) throws InterruptedException {
            BackstopConfig.Binlog settings = BinlogStreaming.settings(ctx);
            BinlogStreaming streaming = new BinlogStreaming(ctx, settings, spool != null ? spool : settings.spool(), Clock.systemUTC());
            // like the daemons' receivers, this one streams only while it holds the archive's lease
            Clock clock = Clock.systemUTC();
            LeasedCompanion leased = new LeasedCompanion(streaming.subject(), BinlogStreaming.lock(ctx, settings, clock), streaming,
                    Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("backstop-binlog-lease")), clock);
            StopSignal signal = StopSignal.install("backstop-binlog-shutdown", () -> {
                // SIGTERM: stop receiving (the deltas shipped up to the last poll are in the repository), release the lease
                leased.close();
                root.err.println("binlog stream: stopped" + position(streaming));
                root.err.flush();
            });
            try {
                leased.start();
                BinlogReceiver said = null;
                while (!signal.awaitStop(LOOK_MS)) {
                    leased.startFailure().ifPresent(e -> {
                        // the lease was ours but the receiver could not start (the server, the archive): say so and stop
                        throw e;
                    });
                    BinlogReceiver r = streaming.receiver();
                    if (r == null) {
                        continue; // standing by: another daemon streams this archive
                    }
                    if (r != said) {
                        said = r;
                        root.err.println("binlog stream: receiving " + ctx.mariaDbEndpoint() + " into " + streaming.archive().stream()
                                + " (server id " + streaming.archive().serverId() + "), spool "
                                + (spool != null ? spool : settings.spool()));
                        root.err.flush();
                    }
                    if (!r.isRunning()) {
                        streaming.close();
                        root.err.println("binlog stream: stopped: " + r.lastFailure());
                        r.continuousFrom().ifPresent(f -> root.err.println("binlog stream: the archive is continuous from " + f
                                + position(streaming)));
                        return Backstop.FAILURE;
                    }
                }
                return Backstop.OK;
            } finally {
                signal.close();
                leased.close();
            }
        }

        private static String position(BinlogStreaming s) {
            BinlogReceiver r = s.receiver();
            if (r == null || r.rpo().archivedFile() == null) {
                return "";
            }
            return " up to " + r.rpo().archivedFile() + ":" + r.rpo().archivedPosition();
        }
    }

    @Command(name = "status", description = "What the binlog archive holds, per base name: its files, from where it is "
            + "continuous, its gaps, and the deltas of the file being written. Reads the repository only (and the server's "
            + "@@server_id when backup.binlog.serverId is not set).")
    static final class Status extends Commands.Scriptable {
        @Override
        int run(Context ctx) {
            BinlogArchive archive = BinlogStreaming.archive(ctx, BinlogStreaming.settings(ctx));
            Map<String, List<LogFile>> byBase = new TreeMap<>();
            for (LogFile f : archive.logs().restorable()) {
                byBase.computeIfAbsent(f.epoch(), e -> new ArrayList<>()).add(f);
            }
            List<Map<String, Object>> bases = new ArrayList<>();
            for (Map.Entry<String, List<LogFile>> e : byBase.entrySet()) {
                Map<String, Object> b = new LinkedHashMap<>();
                List<String> whole = archive.files().stream().filter(f -> BinlogArchive.file(f).epoch().equals(e.getKey())).toList();
                b.put("baseName", e.getKey());
                b.put("files", whole.size());
                b.put("first", whole.isEmpty() ? null : whole.get(0));
                b.put("last", whole.isEmpty() ? null : whole.get(whole.size() - 1));
                b.put("continuousFrom", archive.continuousFrom(e.getKey()).orElse(null));
                List<LogFile> partial = e.getValue().stream().filter(f -> !whole.contains(f.name())).toList();
                b.put("deltas", partial.stream().map(f -> f.name() + " up to " + archive.deltaEnd(f.name())).toList());
                b.put("gaps", archive.gaps().stream().filter(g -> g.after().epoch().equals(e.getKey())).map(LogGap::toString).toList());
                bases.add(b);
            }
            if (json) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("archive", archive.stream());
                out.put("serverId", archive.serverId());
                out.put("baseNames", bases);
                printJson(out);
                return Backstop.OK;
            }
            print("archive " + archive.stream() + " (server id " + archive.serverId() + ")" + (bases.isEmpty() ? ": empty" : ""));
            for (Map<String, Object> b : bases) {
                print("  " + b.get("baseName") + ": " + b.get("files") + " file(s) " + (b.get("first") == null ? "archived whole"
                        : b.get("first") + " .. " + b.get("last")) + ", continuous from " + b.get("continuousFrom"));
                ((List<?>) b.get("deltas")).forEach(d -> print("    deltas of " + d));
                ((List<?>) b.get("gaps")).forEach(g -> print("    " + g));
            }
            return Backstop.OK;
        }
    }
}
