package dev.backstop.testkit;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.ValidationResult;
import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.logical.PgFingerprints;
import dev.backstop.postgres.logical.PostgresRestore;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Assertions about one backup. Failures are {@link AssertionError}s whose message names the
 * backup, the table or object, what was expected and what was found.
 *
 * <p><b>Threading.</b> Not thread-safe; use one per test.
 */
public final class BackupAssert {
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final Manifest backup;
    private final Restore restore;

    BackupAssert(Manifest backup, Restore restore) {
        this.backup = Objects.requireNonNull(backup, "backup");
        this.restore = Objects.requireNonNull(restore, "restore");
    }

    /**
     * Every object decodes and matches its stored and plaintext digests (needs the keys). An
     * assertion only: it records no validation result in the repository.
     */
    public BackupAssert isIntact() {
        ValidationResult r = restore.verify(backup, Restore.Recording.NONE);
        if (!r.passed()) {
            throw new AssertionError("expected backup " + backup.id() + " to be intact, but: " + String.join("; ", r.findings()));
        }
        return this;
    }

    /** Restores the backup into a new database {@code restored_<n>} on {@code db}. */
    public RestoredDatabaseAssert restoresInto(PostgresInstance db) {
        return restoresInto(db, "restored_" + DATABASES.incrementAndGet());
    }

    /** Restores the backup into {@code database} on {@code db} (created if missing, must be empty). */
    public RestoredDatabaseAssert restoresInto(PostgresInstance db, String database) {
        try {
            PostgresRestore.builder(restore, db.endpoint(), database).noOwner(true).build().run(backup);
        } catch (BackupException e) {
            AssertionError err = new AssertionError("expected backup " + backup.id() + " to restore into database '" + database
                    + "' on " + db + ", but it failed: " + e.getMessage());
            err.initCause(e);
            throw err;
        }
        return new RestoredDatabaseAssert(db, database);
    }

    /** Assertions about a database a backup was restored into. */
    public final class RestoredDatabaseAssert {
        private final PostgresInstance db;
        private final String database;

        RestoredDatabaseAssert(PostgresInstance db, String database) {
            this.db = db;
            this.database = database;
        }

        /** The database the backup was restored into. */
        public String database() {
            return database;
        }

        /**
         * Row counts and content of every table and every schema object equal those recorded at
         * backup time; each difference names the table or object ({@code trigger public.orders.audit_trg:
         * missing}). Owners and privileges are left out, as {@link #restoresInto} restores without them.
         */
        public RestoredDatabaseAssert withSameFingerprints() {
            Fingerprints expected = backup.fingerprints().orElseThrow(() -> new AssertionError("backup " + backup.id()
                    + " records no fingerprints; take it with PgDumpSource fingerprints(true)"));
            List<String> diffs = PgFingerprints.withoutOwnership(expected)
                    .differencesFrom(PgFingerprints.withoutOwnership(fingerprints(expected)));
            if (!diffs.isEmpty()) {
                throw new AssertionError("expected database '" + database + "' restored from " + backup.id()
                        + " to have the backup's fingerprints, but:\n  " + String.join("\n  ", diffs));
            }
            return this;
        }

        /** Table {@code table} (schema-qualified, e.g. {@code app.orders}) holds {@code rows} rows. */
        public RestoredDatabaseAssert hasRowCount(String table, long rows) {
            Fingerprints actual = fingerprints(backup.fingerprints().orElse(null));
            TableFingerprint t = actual.tables().get(table);
            if (t == null) {
                throw new AssertionError("expected table " + table + " in database '" + database + "', but it has only "
                        + actual.sortedTables().keySet());
            }
            if (t.rows() != rows) {
                throw new AssertionError("expected table " + table + " in database '" + database + "' to have " + rows
                        + " rows, but it has " + t.rows());
            }
            return this;
        }

        private Fingerprints fingerprints(Fingerprints like) {
            try (Connection c = db.connect(database)) {
                c.setAutoCommit(false);
                c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                return PgFingerprints.compute(c, like);
            } catch (SQLException e) {
                throw new AssertionError("could not fingerprint database '" + database + "' on " + db + ": " + e.getMessage(), e);
            }
        }
    }
}
