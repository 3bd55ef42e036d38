package dev.backstop.cli;

import dev.backstop.cli.config.BackstopConfig;
import dev.backstop.cli.config.ConfigException;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.Restore;
import dev.backstop.core.Validator;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.mysql.MariaDbDumpSource;
import dev.backstop.mysql.MariaDbRestore;
import dev.backstop.mysql.MariaDbRestoreDrill;
import dev.backstop.mysql.physical.MariaDbBackupSource;
import dev.backstop.mysql.physical.MariaDbPhysicalDrill;
import dev.backstop.mysql.physical.MariaDbPhysicalRestore;
import dev.backstop.postgres.logical.PgDumpSource;
import dev.backstop.postgres.physical.BackupLevel;
import dev.backstop.postgres.physical.BaseBackupSource;
import dev.backstop.postgres.physical.DataDirectorySource;
import dev.backstop.postgres.logical.PostgresRestore;
import dev.backstop.postgres.logical.RestoreDrill;
import java.nio.file.Path;
import java.util.Map;
import java.time.Clock;

/**
 * The database engines behind the commands. A backup is captured the way the configuration says
 * ({@code backup.database}: PostgreSQL's pg_dump, MariaDB/MySQL's mariadb-dump or, with {@code
 * "mode": "physical"}, mariadb-backup); a backup is drilled and restored the way its own manifest
 * says it was taken, so a repository that holds both logical and physical backups serves both.
 */
final class Engines {
    private Engines() {
    }

    /** What the configured database's backups capture. */
    static CaptureSource source(Context ctx) {
        BackstopConfig.Database db = ctx.config().database();
        if (!db.mariadb()) {
            if (db.mode() == BackstopConfig.Mode.PHYSICAL) {
                return physicalSource(ctx, ctx.config().capture().level());
            }
            return PgDumpSource.builder(ctx.endpoint(), db.name()).build();
        }
        if (db.mode() == BackstopConfig.Mode.PHYSICAL) {
            MariaDbBackupSource.Builder b = MariaDbBackupSource.builder(ctx.mariaDbEndpoint());
            db.workDir().ifPresent(b::workDir);
            db.jobs().ifPresent(b::parallel);
            if (!db.name().isEmpty()) {
                b.fingerprints(db.name());
            }
            return b.build();
        }
        MariaDbDumpSource.Builder b = MariaDbDumpSource.builder(ctx.mariaDbEndpoint(), db.name());
        db.workDir().ifPresent(b::workDir);
        return b.build();
    }

    /**
     * A PostgreSQL physical backup at {@code level}: read from {@code backup.database.dataDirectory}
     * when it is set (full, diff or incr, chains at most {@code backup.chainLimit} long, parents
     * found in the configured repository), else by pg_basebackup (full only).
     *
     * @throws ConfigException for diff or incr without a data directory
     */
    static CaptureSource physicalSource(Context ctx, BackupLevel level) {
        BackstopConfig.Database db = ctx.config().database();
        if (db.dataDirectory().isEmpty()) {
            if (level != BackupLevel.FULL) {
                throw new ConfigException("backup.database.dataDirectory", "missing; " + level.label() + " backups read the "
                        + "cluster's data directory on this host: set it (and \"mode\": \"physical\")");
            }
            return BaseBackupSource.builder(ctx.endpoint()).build();
        }
        DataDirectorySource.Builder b = DataDirectorySource.builder(ctx.endpoint(), db.dataDirectory().get())
                .level(level).maxChainLength(ctx.config().capture().chainLimit());
        if (level != BackupLevel.FULL) {
            b.parents(ctx.restore());
        }
        return b.build();
    }

    /** The restore drill for backup {@code m}: into a throwaway server of its engine, compared with its fingerprints. */
    static Validator drill(Context ctx, Manifest m, Clock clock) {
        BackstopConfig.Database db = ctx.config().database();
        return switch (kind(m)) {
            case POSTGRES -> RestoreDrill.builder().clock(clock).build();
            case MARIADB_LOGICAL -> {
                MariaDbRestoreDrill.Builder b = MariaDbRestoreDrill.builder().clock(clock);
                db.workDir().ifPresent(b::workDir);
                db.jobs().ifPresent(b::jobs);
                yield b.build();
            }
            case MARIADB_PHYSICAL -> {
                MariaDbPhysicalDrill.Builder b = MariaDbPhysicalDrill.builder().clock(clock);
                db.workDir().ifPresent(b::workDir);
                yield b.build();
            }
        };
    }

    /**
     * Restores logical backup {@code m} into database {@code name} on the configured server;
     * returns what to print.
     *
     * @throws ConfigException if {@code m} is physical, or of another engine than the configured server
     */
    static String restoreInto(Context ctx, Restore restore, Manifest m, String name, Map<String, Object> done) {
        BackstopConfig.Database db = ctx.config().database();
        Kind kind = kind(m);
        if (kind == Kind.MARIADB_PHYSICAL) {
            throw new ConfigException("", "backup " + m.id() + " is a physical copy of a whole MariaDB server: restore it with "
                    + "--to-datadir DIR (a data directory a server then starts on), not into a database");
        }
        if ((kind == Kind.POSTGRES) == db.mariadb()) {
            throw new ConfigException("backup.database.type", "is " + db.type() + ", but backup " + m.id() + " is a "
                    + m.source().engine() + " backup; restore it into a server of its engine");
        }
        if (kind == Kind.POSTGRES) {
            PostgresRestore.Report r = PostgresRestore.builder(restore, ctx.endpoint(), name).build().run(m);
            done.put("database", r.database());
            done.put("bytes", r.plaintextBytes());
            done.put("elapsedMs", r.total().toMillis());
            return "restored " + m.id() + " into database " + r.database() + " (" + Commands.size(r.plaintextBytes()) + ") in "
                    + r.total().toMillis() + " ms";
        }
        MariaDbRestore.Builder b = MariaDbRestore.builder(restore, ctx.mariaDbEndpoint(), name);
        db.workDir().ifPresent(b::workDir);
        db.jobs().ifPresent(b::jobs);
        MariaDbRestore.Report r = b.build().run(m);
        done.put("database", r.database());
        done.put("bytes", r.plaintextBytes());
        done.put("elapsedMs", r.total().toMillis());
        if (!r.warnings().isEmpty()) {
            done.put("warnings", r.warnings());
        }
        return "restored " + m.id() + " into database " + r.database() + " (" + Commands.size(r.plaintextBytes()) + ") in "
                + r.total().toMillis() + " ms";
    }

    /**
     * Restores physical MariaDB backup {@code m} into the data directory {@code dir} (empty or
     * absent; its server stopped); returns what to print.
     *
     * @throws ConfigException if {@code m} is not a physical MariaDB backup
     */
    static String restoreToDataDirectory(Context ctx, Restore restore, Manifest m, Path dir, Map<String, Object> done) {
        if (kind(m) != Kind.MARIADB_PHYSICAL) {
            throw new ConfigException("", "backup " + m.id() + " is a logical " + m.source().engine() + " backup: restore it with "
                    + "--to-database NAME or --to-file DIR; --to-datadir takes physical MariaDB backups");
        }
        MariaDbPhysicalRestore.Builder b = MariaDbPhysicalRestore.builder(restore);
        ctx.config().database().workDir().ifPresent(b::workDir);
        MariaDbPhysicalRestore.Report r = b.build().toDataDirectory(m, dir);
        done.put("datadir", dir.toString());
        done.put("bytes", r.streamBytes());
        done.put("elapsedMs", r.total().toMillis());
        return "restored " + m.id() + " into data directory " + dir + " (" + Commands.size(r.streamBytes()) + " fetched, prepared) in "
                + r.total().toMillis() + " ms; hand it to the server's user (chown -R mysql:mysql) and start the server on it";
    }

    /** What a backup is, from its manifest. */
    enum Kind { POSTGRES, MARIADB_LOGICAL, MARIADB_PHYSICAL }

    static Kind kind(Manifest m) {
        String engine = m.source().engine();
        if ("mariadb".equals(engine) || "mysql".equals(engine)) {
            return MariaDbBackupSource.FORMAT.equals(m.attributes().get("mariadb.format")) ? Kind.MARIADB_PHYSICAL
                    : Kind.MARIADB_LOGICAL;
        }
        return Kind.POSTGRES;
    }
}
