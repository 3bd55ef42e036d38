package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.BackstopConfig.DrillKind;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.cli.config.Secret;
import dev.backstop.core.BackupException;
import dev.backstop.core.BackupType;
import dev.backstop.core.Restore;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Stage;
import dev.backstop.core.internal.layout.RepositoryLayout;
import dev.backstop.core.Validator;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.postgres.physical.BaseBackupSource;
import dev.backstop.postgres.physical.PhysicalRestoreDrill;
import dev.backstop.postgres.physical.RecordedRestorePoint;
import dev.backstop.postgres.physical.RecoveryTarget;
import dev.backstop.postgres.physical.RestorePoints;
import dev.backstop.postgres.wal.WalArchive;
import java.io.IOException;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Which backup a drill restores and which {@link Validator} proves it, by {@code
 * validation.kind} ({@link DrillKind}): the logical drill compares a dump's fingerprints, the
 * physical drill ({@link PhysicalRestoreDrill}) recovers a physical backup or chain to its
 * consistent point and runs pg_amcheck and the checksum counters, the PITR drill recovers the
 * newest physical backup before a restore point recorded by {@link RestorePoints} to that point
 * and compares it with the fingerprints recorded there.
 */
final class Drills {
    private Drills() {
    }

    /** A backup and the drill that proves it. */
    record Plan(Manifest manifest, Validator validator) {
    }

    /**
     * The drill of {@code kind} on the backup the daemon or {@code backstop drill --latest}
     * would choose: the newest of that kind, or for PITR the newest physical one before the point.
     *
     * @throws BackupException if the repository holds no backup of that kind, or the point is not recorded
     */
    static Plan newest(Context ctx, Restore restore, DrillKind kind, Optional<String> restorePoint, Clock clock) throws IOException {
        if (kind == DrillKind.AUTO) {
            Manifest m = restore.latest();
            return new Plan(m, of(ctx, restore, m, kind, restorePoint, clock));
        }
        if (kind == DrillKind.PITR) {
            String name = restorePoint.orElseThrow(() -> new ConfigException("backup.validation.restorePoint",
                    "missing; a pitr drill recovers to a recorded restore point: give its name"));
            RecordedRestorePoint point = point(ctx, restore, name);
            Manifest base = Recovery.choose(restore, RecoveryTarget.lsn(point.lsn(), true));
            return new Plan(restore.manifest(base.id()), pitr(ctx, base, point.name(), clock));
        }
        boolean physical = kind == DrillKind.PHYSICAL;
        List<Manifest> all = restore.repository().catalog().list();
        Manifest m = all.stream().filter(x -> (x.type() == BackupType.PHYSICAL) == physical)
                .max(Comparator.comparing(Manifest::startedAt).thenComparing(x -> x.id().value()))
                .orElseThrow(() -> new BackupException(Stage.VERIFY, "no " + kind.label() + " backup in the repository to drill "
                        + "(validation.kind is " + kind.label() + ")", null));
        return new Plan(restore.manifest(m.id()), of(ctx, restore, m, kind, restorePoint, clock));
    }

    /**
     * The drill of {@code kind} for backup {@code m}.
     *
     * @throws ConfigException if {@code m} cannot be drilled so (a logical drill of a physical backup, or the reverse)
     */
    static Validator of(Context ctx, Restore restore, Manifest m, DrillKind kind, Optional<String> restorePoint, Clock clock)
            throws IOException {
        boolean physical = m.type() == BackupType.PHYSICAL;
        if (kind == DrillKind.LOGICAL && physical || kind == DrillKind.PHYSICAL && !physical) {
            throw new ConfigException("backup.validation.kind", "is " + kind.label() + ", but backup " + m.id() + " is "
                    + m.type().label() + "; drill it with kind auto or " + (physical ? "physical" : "logical"));
        }
        if (kind == DrillKind.PITR) {
            String name = restorePoint.orElseThrow(() -> new ConfigException("backup.validation.restorePoint",
                    "missing; a pitr drill recovers to a recorded restore point: give its name"));
            return pitr(ctx, m, point(ctx, restore, name).name(), clock);
        }
        if (physical && Engines.kind(m) == Engines.Kind.POSTGRES) {
            return physical(ctx, clock).build();
        }
        return Engines.drill(ctx, m, clock);
    }

    private static PhysicalRestoreDrill.Builder physical(Context ctx, Clock clock) {
        BackstopConfig.Database db = ctx.config().database();
        if (db.mariadb()) {
            throw new ConfigException("backup.database.type", "is " + db.type() + "; a PostgreSQL physical drill connects to the "
                    + "restored cluster as the configured PostgreSQL user");
        }
        PhysicalRestoreDrill.Builder b = PhysicalRestoreDrill.builder().clock(clock)
                .credentials(db.user(), db.password().filter(s -> !s.isEmpty()).map(Secret::reveal).orElse(null));
        db.workDir().ifPresent(b::workDir);
        return b;
    }

    private static Validator pitr(Context ctx, Manifest base, String point, Clock clock) {
        if (base.type() != BackupType.PHYSICAL || Engines.kind(base) != Engines.Kind.POSTGRES) {
            throw new ConfigException("backup.validation.kind", "is pitr, but backup " + base.id() + " is not a PostgreSQL "
                    + "physical backup; a pitr drill recovers one through the WAL archive");
        }
        return physical(ctx, clock).archive(archive(ctx, systemId(base))).target(RecoveryTarget.restorePoint(point)).build();
    }

    /** The WAL archive of cluster {@code systemId} in the configured repository, with the configured keys. */
    static WalArchive archive(Context ctx, long systemId) {
        WalArchive.Builder wb = WalArchive.builder(ctx.repository(), systemId);
        ctx.kek().ifPresent(wb::keys);
        return wb.build();
    }

    private static long systemId(Manifest m) {
        String id = m.consistency().properties().get(BaseBackupSource.SYSTEM_IDENTIFIER);
        if (id == null) {
            throw new BackupException(Stage.VERIFY, "backup " + m.id() + " records no system identifier; cannot find its WAL",
                    null, false, m.id());
        }
        return Long.parseUnsignedLong(id);
    }

    /**
     * The restore point {@code name} recorded for the configured cluster ({@code backup.wal.systemId}
     * when set, else the newest physical backup's); for a name ending in {@code *}, the newest
     * recorded point whose name starts with what comes before it.
     */
    private static RecordedRestorePoint point(Context ctx, Restore restore, String name) throws IOException {
        Optional<Long> configured = ctx.config().wal().flatMap(BackstopConfig.Wal::systemId);
        long systemId;
        if (configured.isPresent()) {
            systemId = configured.get();
        } else {
            Manifest newest = restore.repository().catalog().list().stream().filter(x -> x.type() == BackupType.PHYSICAL)
                    .max(Comparator.comparing(Manifest::startedAt)).orElseThrow(() -> new BackupException(Stage.VERIFY,
                            "no physical backup in the repository to drill to restore point '" + name + "'", null));
            systemId = systemId(newest);
        }
        if (name.endsWith("*")) {
            return newest(restore, systemId, name.substring(0, name.length() - 1));
        }
        return RestorePoints.read(restore.repository(), systemId, name).orElseThrow(() -> new BackupException(Stage.VERIFY,
                "restore point '" + name + "' of system " + Long.toUnsignedString(systemId) + " is not recorded in the "
                        + "repository; record it with backstop restore-point " + name, null));
    }

    /** The newest recorded point whose name starts with {@code prefix}: names are unique, so a drill schedule renews them. */
    private static RecordedRestorePoint newest(Restore restore, long systemId, String prefix) throws IOException {
        String stream = WalArchive.streamOf(systemId);
        String probe = RepositoryLayout.restorePointKey(stream, prefix);
        String keyPrefix = probe.substring(0, probe.length() - ".json".length());
        String dir = keyPrefix.substring(0, keyPrefix.length() - prefix.length());
        RecordedRestorePoint newest = null;
        for (ObjectInfo o : restore.repository().sink().list(keyPrefix)) {
            if (!o.key().endsWith(".json")) {
                continue;
            }
            String name = o.key().substring(dir.length(), o.key().length() - ".json".length());
            // read authenticated, like a point named in full: a forged record is refused, not skipped
            RecordedRestorePoint p = RestorePoints.read(restore.repository(), systemId, name).orElse(null);
            if (p != null && (newest == null || p.createdAt().isAfter(newest.createdAt()))) {
                newest = p;
            }
        }
        if (newest == null) {
            throw new BackupException(Stage.VERIFY, "no restore point of system " + Long.toUnsignedString(systemId)
                    + " whose name starts with '" + prefix + "' is recorded in the repository; record one with backstop "
                    + "restore-point " + prefix + "<suffix>", null);
        }
        return newest;
    }
}
