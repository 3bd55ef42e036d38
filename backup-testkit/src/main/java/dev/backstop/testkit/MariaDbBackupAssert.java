package dev.backstop.testkit;

import dev.backstop.core.BackupException;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Restore;
import dev.backstop.core.TableFingerprint;
import dev.backstop.mysql.MariaDbFingerprints;
import dev.backstop.mysql.MariaDbInstance;
import dev.backstop.mysql.MariaDbRestore;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Assertions that a MariaDB/MySQL logical backup restores exactly. Failures are {@link
 * AssertionError}s naming the backup, the table or object, what was expected and what was found.
 *
 * <pre>{@code
 * MariaDbBackupAssert.assertThatBackup(manifest, restore).restoresInto(db).withSameFingerprints();
 * }</pre>
 *
 * <p><b>Threading.</b> Not thread-safe; use one per test.
 */
public final class MariaDbBackupAssert {
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final Manifest backup;
    private final Restore restore;

    private MariaDbBackupAssert(Manifest backup, Restore restore) {
        this.backup = Objects.requireNonNull(backup, "backup");
        this.restore = Objects.requireNonNull(restore, "restore");
    }

    /** Assertions about {@code backup}, read through {@code restore}. */
    public static MariaDbBackupAssert assertThatBackup(Manifest backup, Restore restore) {
        return new MariaDbBackupAssert(backup, restore);
    }

    /** Restores the backup into a new database {@code restored_<n>} on {@code db}. */
    public RestoredDatabaseAssert restoresInto(MariaDbInstance db) {
        return restoresInto(db, "restored_" + DATABASES.incrementAndGet());
    }

    /** Restores the backup into {@code database} on {@code db} (created if missing, must be empty). */
    public RestoredDatabaseAssert restoresInto(MariaDbInstance db, String database) {
        try {
            MariaDbRestore.builder(restore, db.endpoint(), database).build().run(backup);
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
        private final MariaDbInstance db;
        private final String database;

        RestoredDatabaseAssert(MariaDbInstance db, String database) {
            this.db = db;
            this.database = database;
        }

        /** The database the backup was restored into. */
        public String database() {
            return database;
        }

        /** Every table's rows and content, and every object's definition, equal those recorded at backup time. */
        public RestoredDatabaseAssert withSameFingerprints() {
            Fingerprints expected = backup.fingerprints().orElseThrow(() -> new AssertionError("backup " + backup.id()
                    + " records no fingerprints; take it with MariaDbDumpSource fingerprints(true) from a MariaDB server"));
            MariaDbFingerprints.Result actual = fingerprints();
            List<String> diffs = new ArrayList<>();
            for (String d : expected.differencesFrom(actual.fingerprints())) {
                if (!d.startsWith("schema:")) {
                    diffs.add(d);
                }
            }
            diffs.addAll(MariaDbFingerprints.differences(MariaDbFingerprints.objectsOf(backup.attributes()), actual.objects()));
            if (!diffs.isEmpty()) {
                throw new AssertionError("expected database '" + database + "' restored from " + backup.id()
                        + " to have the backup's fingerprints, but:\n  " + String.join("\n  ", diffs));
            }
            return this;
        }

        /** Table {@code table} (a bare table name) holds {@code rows} rows. */
        public RestoredDatabaseAssert hasRowCount(String table, long rows) {
            Fingerprints actual = fingerprints().fingerprints();
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

        private MariaDbFingerprints.Result fingerprints() {
            try (Connection c = db.connect(database); Statement st = c.createStatement()) {
                st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
                try {
                    return MariaDbFingerprints.compute(c, database);
                } finally {
                    st.execute("ROLLBACK");
                }
            } catch (SQLException e) {
                throw new AssertionError("could not fingerprint database '" + database + "' on " + db + ": " + e.getMessage(), e);
            }
        }
    }
}
