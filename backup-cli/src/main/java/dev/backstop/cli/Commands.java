package dev.backstop.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.core.BackupId;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.ValidationResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The commands that back up, list, check and restore.
 *
 * <p>Past 400 lines because each picocli subcommand is a small nested class, kept together so the
 * command tree reads in one place; the work each one does is in {@code Engines}, {@code Recovery}
 * and the library.
 */
final class Commands {
    private Commands() {
    }

    /** A check ran and found a problem: exit code {@link Backstop#INTEGRITY}. */
    static final class CheckFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CheckFailed(String message) {
            super(message);
        }
    }

    /** Options every command that reads the configuration has. */
    abstract static class Base implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        /** The top command, holding the environment and the output streams. */
        Backstop root;

        @Option(names = "--config", paramLabel = "FILE", defaultValue = "${env:BACKSTOP_CONFIG:-/etc/backstop/backstop.json}",
                description = "The configuration file (JSON, or YAML if it ends in .yaml/.yml). Default: $BACKSTOP_CONFIG, "
                        + "else /etc/backstop/backstop.json.")
        Path config;

        @Option(names = "--log-format", paramLabel = "FORMAT", description = "How the log on stderr is written: text or "
                + "json (one JSON object per line, with backup.id, backup.stage, correlation.id and repository). "
                + "Default: observability.logFormat, else text.")
        BackstopConfig.LogFormat logFormat;

        @Override
        public Integer call() throws Exception {
            root = (Backstop) spec.root().userObject();
            Logging.configure(logFormat == null ? BackstopConfig.LogFormat.TEXT : logFormat, root.err);
            BackstopConfig c = BackstopConfig.load(config, root.env);
            if (logFormat == null && c.observability().logFormat() != BackstopConfig.LogFormat.TEXT) {
                Logging.configure(c.observability().logFormat(), root.err);
            }
            Logging.Scope mdc = Logging.job(spec.name(), c);
            try (Context ctx = new Context(c)) {
                return run(ctx);
            } finally {
                mdc.close();
            }
        }

        abstract int run(Context ctx) throws Exception;

        void print(String line) {
            root.out.println(line);
        }

        void printJson(Object value) {
            try {
                root.out.println(root.json().writeValueAsString(value));
            } catch (JsonProcessingException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A command that can answer in JSON. */
    abstract static class Scriptable extends Base {
        @Option(names = "--json", description = "Print JSON for scripts instead of text.")
        boolean json;

        /** Prints {@code fields} as one JSON object with --json, else {@code text}. */
        void result(Map<String, Object> fields, String text) {
            if (json) {
                printJson(fields);
            } else {
                print(text);
            }
        }
    }

    /** Which backup: an id, or the newest. */
    static final class Which {
        @Parameters(paramLabel = "ID", arity = "0..1", description = "The backup id (see backstop list).")
        String id;

        @Option(names = "--latest", description = "The newest backup, instead of an ID.")
        boolean latest;

        @Spec(Spec.Target.MIXEE)
        CommandSpec spec;

        Manifest resolve(Restore restore) {
            if (latest == (id != null)) {
                throw new ParameterException(spec.commandLine(), "give a backup ID or --latest (one of them)");
            }
            if (!latest && !BackupId.isValid(id)) {
                throw new ParameterException(spec.commandLine(), "ID: got \"" + id + "\", expected a backup id as backstop list shows it");
            }
            return latest ? restore.latest() : restore.manifest(BackupId.parse(id));
        }
    }

    @Command(name = "backup", description = "Back up the configured database into the repository (pg_dump, mariadb-dump, "
            + "or mariadb-backup with \"mode\": \"physical\"; zstd, the configured encryption), under the repository lock.")
    static final class BackupCommand extends Scriptable {
        @Option(names = "--dry-run", description = "Check the configuration, the repository (listed, a probe object "
                + "written and aborted) and the key (a throwaway data key wrapped), then run the dump for real into a sink "
                + "that discards it, printing each stream's size and SHA-256; store nothing.")
        boolean dryRun;

        @Option(names = "--physical", description = "A physical backup of the whole cluster (pg_basebackup over a "
                + "replication connection; the role needs REPLICATION): with the WAL archive, it restores to any point in "
                + "time after it (restore --to).")
        boolean physical;

        @Option(names = "--progress", description = "Show progress on stderr even when it is not a terminal (as "
                + "key=value lines); on a terminal it is shown anyway.")
        boolean progress;

        @Option(names = "--level", paramLabel = "LEVEL", description = "A physical PostgreSQL backup of this level: full, "
                + "diff (what changed since the newest full backup) or incr (since the newest backup); diff and incr need "
                + "backup.database.dataDirectory, and a chain reaching backup.chainLimit makes the backup full. "
                + "Implies --physical. Default: backup.level, else full.")
        String level;

        @Override
        int run(Context ctx) throws IOException {
            CaptureSource source = level != null ? Engines.physicalSource(ctx, level(spec, level))
                    : physical ? Engines.physicalSource(ctx, ctx.config().capture().level()) : ctx.source();
            Progress meter = Progress.NONE;
            if (Progress.wanted(progress)) {
                meter = new Progress(dryRun ? "dry run" : "backup", Progress.expected(ctx, source.type()),
                        java.time.Clock.systemUTC(), root.err, System.console() != null);
                source = Progress.counting(source, meter);
            }
            if (dryRun) {
                List<String> facts = ctx.pipeline(null, source).dryRun();
                DryRun.Capture c = DryRun.capture(source);
                meter.done();
                if (json) {
                    printJson(Map.of("dryRun", true, "checked", facts, "bytes", c.bytes(),
                            "streams", c.streams().stream().map(DryRun.Stream::toMap).toList()));
                } else {
                    facts.forEach(this::print);
                    c.streams().forEach(st -> print("dumped " + st.name() + ": " + st.bytes() + " bytes (" + size(st.bytes())
                            + "), sha256 " + st.sha256() + ", discarded"));
                    print("dry run: nothing stored");
                }
                return Backstop.OK;
            }
            Manifest m = ctx.pipeline(null, source).run();
            meter.done();
            if (json) {
                printJson(summary(m));
            } else {
                print("backup " + m.id() + java.util.Optional.ofNullable(m.attributes().get("postgresql.backup_level"))
                        .map(l -> " (" + l + m.parent().map(p -> " on " + p).orElse("") + ")").orElse("") + " stored: "
                        + size(m.plaintextBytes()) + " read, " + size(m.storedBytes())
                        + " stored, in " + m.duration().toMillis() + " ms");
            }
            return Backstop.OK;
        }
    }

    /** Parses {@code --level}. */
    static dev.backstop.postgres.physical.BackupLevel level(CommandSpec spec, String text) {
        try {
            return dev.backstop.postgres.physical.BackupLevel.ofLabel(text.toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--level: got \"" + text + "\", expected full, diff or incr");
        }
    }

    /**
     * {@code --progress} of the commands that read backups back: a rate/ETA line on a terminal,
     * key=value lines on stderr otherwise when asked for, fed by the restore's stored-byte reads.
     */
    static final class Metered {
        @Option(names = "--progress", description = "Show progress on stderr even when it is not a terminal (as "
                + "key=value lines); on a terminal it is shown anyway.")
        boolean progress;

        private Progress meter = Progress.NONE;

        /** {@code plain}, or when progress is shown, a restore like it that feeds a meter sized for {@code m}. */
        Restore restore(Context ctx, Restore plain, Manifest m, String what, java.io.PrintWriter err) {
            if (!Progress.wanted(progress)) {
                return plain;
            }
            meter = new Progress(what, Progress.storedTotal(plain, m), java.time.Clock.systemUTC(), err, System.console() != null);
            return ctx.restore(meter.reads());
        }

        /** The last line, once the work ended. */
        void done() {
            meter.done();
        }
    }

    @Command(name = "list", description = "List the backups in the repository, oldest first.")
    static final class ListCommand extends Scriptable {
        @Override
        int run(Context ctx) throws IOException {
            Repository repo = ctx.keyedRepository();
            List<Manifest> all = repo.catalog().list();
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Manifest m : all) {
                Map<String, Object> row = summary(m);
                row.put("checked", checked(repo, m.id()));
                rows.add(row);
            }
            if (json) {
                printJson(Map.of("backups", rows, "damaged", repo.damaged().stream().map(d -> d.key() + ": " + d.reason()).toList()));
                return Backstop.OK;
            }
            String format = "%-40s %-9s %-20s %10s  %s";
            print(String.format(Locale.ROOT, format, "ID", "TYPE", "FINISHED", "STORED", "CHECKED"));
            for (Map<String, Object> r : rows) {
                print(String.format(Locale.ROOT, format, r.get("id"), r.get("type"),
                        r.get("finishedAt").toString().replaceFirst("\\.\\d+Z$", "Z"), size((Long) r.get("storedBytes")), r.get("checked")));
            }
            repo.damaged().forEach(d -> print("DAMAGED " + d.key() + ": " + d.reason()));
            return Backstop.OK;
        }

        private static String checked(Repository repo, BackupId id) {
            return repo.latestValidation(id).map(v -> v.validator() + (v.passed() ? " passed" : " FAILED")).orElse("never");
        }
    }

    @Command(name = "info", description = "Show one backup: its objects, digests, encryption, fingerprints and checks.")
    static final class InfoCommand extends Scriptable {
        @Mixin
        Which which;

        @Override
        int run(Context ctx) {
            Restore restore = ctx.restore();
            Manifest m = which.resolve(restore);
            Map<String, Object> info = summary(m);
            info.put("parent", m.parent().map(BackupId::value).orElse(null));
            info.put("source", m.source().engine() + " " + m.source().version());
            info.put("encryption", m.encryption().map(e -> e.algorithm() + " (KEK " + e.kekId() + ")").orElse("none"));
            List<Map<String, Object>> objects = new ArrayList<>();
            for (StoredObject o : m.objects()) {
                Map<String, Object> ob = new LinkedHashMap<>();
                ob.put("name", o.name());
                ob.put("key", o.key());
                ob.put("plaintextBytes", o.plaintextSize());
                ob.put("plaintextSha256", o.plaintextSha256().toString());
                objects.add(ob);
            }
            info.put("objects", objects);
            info.put("tables", m.fingerprints().map(f -> f.tables().size()).orElse(0));
            info.put("rows", m.fingerprints().map(f -> f.totalRows()).orElse(0L));
            info.put("checks", restore.repository().validations(m.id()).stream().map(ValidationResult::toString).toList());
            if (json) {
                printJson(info);
            } else {
                info.forEach((k, v) -> print(String.format(Locale.ROOT, "%-16s %s", k + ":", v)));
            }
            return Backstop.OK;
        }
    }

    @Command(name = "verify", description = "Check a backup. Without --full: every stored object's size and SHA-256, "
            + "without keys (reports, does not mark verified). With --full: decrypt and decompress everything, check every "
            + "digest and the manifest's authentication, and record the backup as verified.")
    static final class VerifyCommand extends Scriptable {
        @Mixin
        Which which;

        @Option(names = "--full", description = "The keyed check of everything.")
        boolean full;

        @Override
        int run(Context ctx) {
            // the keyless check needs no key: a host that holds none can run it
            Restore restore = full ? ctx.restore() : ctx.keylessRestore();
            Manifest m = which.resolve(restore);
            // the full check records its result (authenticated: it makes the backup verified for
            // retention); the keyless one reports only
            ValidationResult r = full ? restore.verify(m) : restore.verifyStored(m);
            return report(this, json, r);
        }
    }

    @Command(name = "drill", description = "Restore a backup into a throwaway server of its engine (PostgreSQL, MariaDB) and "
            + "prove it: a logical backup's every table's rows and content and the schema compared with the fingerprints "
            + "taken at backup time; a physical PostgreSQL backup (or chain) recovered to its consistent point, pg_amcheck "
            + "on every database, data checksums and the recovery time; or (--kind pitr) recovered to a recorded restore "
            + "point and compared with the fingerprints recorded there. Records the result. Without ID or --latest: the "
            + "newest backup of the kind.")
    static final class DrillCommand extends Scriptable {
        @Mixin
        Which which;

        @Mixin
        Metered metered;

        @Option(names = "--kind", paramLabel = "KIND", description = "auto (the backup's own drill), logical, physical or "
                + "pitr. Default: validation.kind, else auto.")
        String kind;

        @Option(names = "--restore-point", paramLabel = "NAME", description = "With --kind pitr: the recorded restore "
                + "point to recover to (backstop restore-point NAME), or PREFIX* for the newest recorded one whose name "
                + "starts with PREFIX. Default: validation.restorePoint.")
        String restorePoint;

        @Override
        int run(Context ctx) throws IOException {
            BackstopConfig.DrillKind k = drillKind(ctx);
            java.util.Optional<String> point = restorePoint != null ? java.util.Optional.of(restorePoint)
                    : ctx.config().validation().restorePoint();
            if (point.isPresent() && k != BackstopConfig.DrillKind.PITR) {
                throw new ParameterException(spec.commandLine(), "--restore-point goes with --kind pitr (kind is " + k.label() + ")");
            }
            java.time.Clock clock = java.time.Clock.systemUTC();
            Restore plain = ctx.restore();
            Manifest m;
            dev.backstop.core.Validator drill;
            if (which.id == null) {
                Drills.Plan plan = Drills.newest(ctx, plain, k, point, clock);
                m = plan.manifest();
                drill = plan.validator();
            } else {
                m = which.resolve(plain);
                drill = Drills.of(ctx, plain, m, k, point, clock);
            }
            Restore restore = metered.restore(ctx, plain, m, "drill", root.err);
            ValidationResult r = drill.validate(m, restore);
            metered.done();
            ctx.observers().validated(r); // the drill's verdict goes to the log and the audit log
            return report(this, json, r);
        }

        private BackstopConfig.DrillKind drillKind(Context ctx) {
            if (kind == null) {
                return restorePoint != null ? BackstopConfig.DrillKind.PITR : ctx.config().validation().kind();
            }
            for (BackstopConfig.DrillKind k : BackstopConfig.DrillKind.values()) {
                if (k.label().equalsIgnoreCase(kind)) {
                    return k;
                }
            }
            throw new ParameterException(spec.commandLine(), "--kind: got \"" + kind + "\", expected auto, logical, physical or pitr");
        }
    }

    @Command(name = "restore", description = "Restore a backup into a directory (its files, verified), into a new "
            + "database on the configured server (pg_restore, or the MariaDB client; the database appears only once all of it "
            + "checked out), a physical MariaDB backup into a data directory (--to-datadir), or a physical PostgreSQL backup "
            + "as a data directory recovering to a point in time from the repository's WAL (--to).")
    static final class RestoreCommand extends Scriptable {
        @Mixin
        Which which;

        @ArgGroup(multiplicity = "1")
        Target target;

        @Mixin
        Recovery.Options pitr;

        @Mixin
        Metered metered;

        static final class Target {
            @Option(names = "--to-file", paramLabel = "DIR", required = true, description = "Write the backup's files into DIR.")
            Path dir;

            @Option(names = "--to-database", paramLabel = "NAME", required = true,
                    description = "Restore into database NAME on the configured server; it must not exist or be empty.")
            String database;

            @Option(names = "--to-datadir", paramLabel = "DIR", required = true, description = "Restore a physical MariaDB "
                    + "backup into the data directory DIR (absent or empty, its server stopped), prepared, for a server to start on.")
            Path datadir;

            @Option(names = {"--to", "--to-directory"}, paramLabel = "DIR", required = true, description = "Restore a "
                    + "physical backup as a PostgreSQL data directory DIR (it must not exist), recovering from the "
                    + "repository's WAL archive to the --target-* given, else to the end of the archive.")
            Path dataDir;
        }

        @Override
        int run(Context ctx) throws IOException, InterruptedException {
            Restore restore = ctx.restore();
            if (target.dataDir != null) {
                if (ctx.config().database().mariadb()) {
                    throw new ParameterException(spec.commandLine(), "--to DIR recovers a physical PostgreSQL backup; a physical "
                            + "MariaDB backup restores with --to-datadir DIR");
                }
                var goal = pitr.target(spec, ctx.config().zone());
                boolean byTarget = which.id == null && !which.latest;
                Manifest m = byTarget ? Recovery.choose(restore, goal) : which.resolve(restore);
                restore = metered.restore(ctx, restore, m, "restore", root.err);
                Map<String, Object> r = Recovery.run(ctx, restore, m, target.dataDir, goal, pitr, spec, config);
                metered.done();
                if (json) {
                    printJson(r);
                } else {
                    print("restored " + m.id() + " into " + r.get("directory") + ", recovering to " + r.get("target")
                            + (Boolean.TRUE.equals(r.get("started")) ? "; started and promoted on port " + r.get("port")
                                    : "; start it with: pg_ctl start -D " + r.get("directory")));
                }
                return Backstop.OK;
            }
            if (ctx.config().database().mariadb() && pitr.any()) {
                Map<String, Object> r = BinlogRestore.run(ctx, restore, which, target.database, target.datadir, pitr, spec);
                result(r, BinlogRestore.describe(r));
                return Backstop.OK;
            }
            if (pitr.any()) {
                throw new ParameterException(spec.commandLine(), "--target-*, --start and --port go with --to DIR "
                        + "(a physical backup recovered to a point in time)");
            }
            Manifest m = which.resolve(restore);
            restore = metered.restore(ctx, restore, m, "restore", root.err);
            Map<String, Object> done = new LinkedHashMap<>();
            done.put("id", m.id().value());
            if (target.dir != null) {
                Files.createDirectories(target.dir);
                List<Map<String, Object>> files = new ArrayList<>();
                for (StoredObject o : m.objects()) {
                    Path file = target.dir.resolve(o.name());
                    long n = restore.toFile(m, o.name(), file);
                    files.add(Map.of("name", o.name(), "file", file.toString(), "bytes", n));
                    if (!json) {
                        print("restored " + o.name() + " of " + m.id() + " to " + file + " (" + size(n) + ", verified)");
                    }
                }
                done.put("files", files);
            } else if (target.datadir != null) {
                String said = Engines.restoreToDataDirectory(ctx, restore, m, target.datadir, done);
                if (!json) {
                    print(said);
                }
            } else {
                String said = Engines.restoreInto(ctx, restore, m, target.database, done);
                if (!json) {
                    print(said);
                }
            }
            metered.done();
            if (json) {
                printJson(done);
            }
            return Backstop.OK;
        }
    }

    static int report(Base cmd, boolean json, ValidationResult r) {
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", r.backupId().value());
            m.put("check", r.validator());
            m.put("passed", r.passed());
            m.put("findings", r.findings());
            m.put("elapsedMs", r.elapsed().toMillis());
            m.put("measurements", r.measurements());
            cmd.printJson(m);
        } else {
            cmd.print(r.toString());
            r.findings().forEach(f -> cmd.print("  " + f));
        }
        if (!r.passed()) {
            throw new CheckFailed(r.validator() + " of " + r.backupId() + " failed: " + String.join("; ", r.findings()));
        }
        return Backstop.OK;
    }

    static Map<String, Object> summary(Manifest m) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("id", m.id().value());
        s.put("type", m.type().label());
        s.put("startedAt", m.startedAt().toString());
        s.put("finishedAt", m.finishedAt().toString());
        s.put("plaintextBytes", m.plaintextBytes());
        s.put("storedBytes", m.storedBytes());
        s.put("encrypted", m.encryption().isPresent());
        // PostgreSQL physical backups from a data directory: full, diff or incr
        java.util.Optional.ofNullable(m.attributes().get("postgresql.backup_level")).ifPresent(l -> s.put("level", l));
        return s;
    }

    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String units = "KMGTPE";
        int u = -1;
        double v = bytes;
        while (v >= 1024 && u < units.length() - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %siB", v, units.charAt(u));
    }
}
