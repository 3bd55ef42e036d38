package dev.backstop.cli;

import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.postgres.physical.RecordedRestorePoint;
import dev.backstop.postgres.physical.RestorePoints;
import dev.backstop.postgres.wal.WalFile;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;

/** {@code backstop restore-point NAME}: a restore point whose fingerprints a PITR drill compares against. */
@Command(name = "restore-point", description = "Create restore point NAME on the configured PostgreSQL primary "
        + "(pg_create_restore_point) and record every database's fingerprints at exactly that point in the repository "
        + "(authenticated with the key), so that a drill recovering to it (drill --kind pitr --restore-point NAME, or "
        + "validation.kind pitr) proves the recovered cluster equal to the source there. Writers wait a few "
        + "milliseconds while the point is taken; names are unique per cluster.")
final class RestorePointCommand extends Commands.Scriptable {
    @Parameters(paramLabel = "NAME", description = "1 to 63 of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter "
            + "or digit; not recorded before (a date in it renews it: nightly-2026-12-07).")
    String name;

    @Option(names = "--database", paramLabel = "DB", split = ",", description = "Fingerprint only these databases "
            + "(default: every database that accepts connections).")
    List<String> databases;

    @Override
    int run(Context ctx) {
        if (name == null || !RepositoryLayout.RESTORE_POINT_NAME.matcher(name).matches()) {
            throw new ParameterException(spec.commandLine(), "NAME: got \"" + name + "\", expected 1 to 63 of A-Z, a-z, 0-9, "
                    + "'.', '_' and '-', starting with a letter or digit");
        }
        RestorePoints.Builder b = RestorePoints.builder(ctx.endpoint(), ctx.keyedRepository());
        if (databases != null) {
            b.databases(databases);
        }
        RecordedRestorePoint p = b.build().create(name);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("name", p.name());
        r.put("systemId", Long.toUnsignedString(p.systemId()));
        r.put("lsn", WalFile.formatLsn(p.lsn()));
        r.put("createdAt", p.createdAt().toString());
        r.put("databases", List.copyOf(p.sortedDatabases().keySet()));
        result(r, "restore point " + p.name() + " at " + r.get("lsn") + " of system " + r.get("systemId") + ", fingerprints of "
                + p.sortedDatabases().keySet() + " recorded");
        return Backstop.OK;
    }
}
