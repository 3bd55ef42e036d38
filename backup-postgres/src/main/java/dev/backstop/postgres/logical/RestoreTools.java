package dev.backstop.postgres.logical;

import dev.backstop.core.BackupException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Stage;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PgTools;
import dev.backstop.postgres.internal.CustomDump;
import dev.backstop.postgres.internal.ToolProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs {@code pg_restore} and {@code psql} for one {@link PostgresRestore}: finds them, builds their
 * arguments from the restore's settings, and turns a failed run into a {@link BackupException}
 * naming the tool, the backup, the database and the tool's stderr tail.
 */
final class RestoreTools {
    private final PgEndpoint target;
    private final PgTools tools;
    private final boolean noOwner;
    private final List<String> schemas;
    private final List<String> tables;

    RestoreTools(PgEndpoint target, PgTools tools, boolean noOwner, List<String> schemas, List<String> tables) {
        this.target = target;
        this.tools = tools;
        this.noOwner = noOwner;
        this.schemas = schemas;
        this.tables = tables;
    }

    Path program(Manifest m, String name) {
        try {
            return tools.tool(name);
        } catch (NoSuchFileException e) {
            throw new BackupException(Stage.CONFIGURE, e.getReason(), e, false, m.id());
        }
    }

    /** The tool's arguments; {@code input} null reads standard input. */
    List<String> args(DumpFormat format, Path input, String into, int jobCount) {
        List<String> args = new ArrayList<>();
        if (format == DumpFormat.PLAIN) {
            args.addAll(List.of("--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction",
                    "--file=" + (input == null ? "-" : input.toString()), "--dbname=" + into));
            return args;
        }
        args.addAll(List.of("--exit-on-error", "--dbname=" + into));
        if (jobCount > 1) {
            args.add("--jobs=" + jobCount);
        }
        if (noOwner) {
            args.addAll(List.of("--no-owner", "--no-privileges"));
        }
        schemas.forEach(s -> args.add("--schema=" + s));
        tables.forEach(t -> args.add("--table=" + t));
        if (input != null) {
            args.add(input.toString());
        }
        return args;
    }

    void run(Manifest m, Path program, List<String> args, String into) throws IOException {
        try (ToolProcess p = ToolProcess.start(program, args, target, (Path) null, ProcessBuilder.Redirect.DISCARD)) {
            int exit = p.waitFor();
            if (exit != 0) {
                throw toolFailed(m, p, exit, into);
            }
        }
    }

    /** Restores {@code entries} of the dump whose head is {@code head} with {@code pg_restore -j N -L}. */
    void restoreEntries(Manifest m, Path program, String staging, Path head, List<CustomDump.Entry> entries, int n)
            throws IOException {
        StringBuilder list = new StringBuilder();
        for (CustomDump.Entry e : entries) {
            list.append(e.dumpId()).append("; ").append(e.desc()).append(' ').append(e.tag()).append('\n');
        }
        Path listFile = Files.createTempFile(head.getParent(), "entries-", ".list");
        try {
            Files.writeString(listFile, list.toString());
            List<String> args = args(DumpFormat.CUSTOM, head, staging, n);
            args.add(args.size() - 1, "--use-list=" + listFile);
            run(m, program, args, staging);
        } finally {
            Files.deleteIfExists(listFile);
        }
    }

    /** Whether {@code head} holds a custom dump's whole table of contents: pg_restore can list it. */
    boolean tocComplete(Path head) throws IOException {
        Path pgRestore;
        try {
            pgRestore = tools.tool("pg_restore");
        } catch (NoSuchFileException e) {
            return false;
        }
        try (ToolProcess p = ToolProcess.start(pgRestore, List.of("--list", head.toString()), null, (Path) null,
                ProcessBuilder.Redirect.DISCARD)) {
            return p.waitFor() == 0;
        }
    }

    BackupException toolFailed(Manifest m, ToolProcess p, int exit, String into) {
        return new BackupException(Stage.RESTORE, p.name() + " exited " + exit + " restoring " + m.id() + " into database '"
                + into + "' at " + target + ": " + p.stderrTail().strip(), null, false, m.id());
    }
}
