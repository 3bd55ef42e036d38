package dev.backstop.postgres.logical;

import dev.backstop.core.BackupException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Stage;
import dev.backstop.postgres.PgEndpoint;
import dev.backstop.postgres.PostgresInstance;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The server a {@link PostgresRestore} restores into, seen through the {@code postgres} database:
 * whether the target exists and is empty, and creating and dropping the databases a restore loads.
 */
final class TargetServer {
    private final PgEndpoint target;

    TargetServer(PgEndpoint target) {
        this.target = target;
    }

    /** Whether {@code database} exists; refuses a non-empty one unless {@code allowNonEmpty}. Changes nothing. */
    boolean checkTarget(Manifest m, String database, boolean allowNonEmpty) {
        try (Connection c = target.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT 1 FROM pg_catalog.pg_database WHERE datname = "
                     + quoteLiteral(database))) {
            if (!rs.next()) {
                return false;
            }
        } catch (SQLException e) {
            throw new BackupException(Stage.RESTORE, "could not reach the restore target " + target + ": " + e.getMessage(),
                    e, true, m.id());
        }
        if (allowNonEmpty) {
            return true;
        }
        try (Connection c = target.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), min(n.nspname || '.' || c.relname) FROM pg_catalog.pg_class c "
                     + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'information_schema' "
                     + "AND n.nspname NOT LIKE 'pg\\_%' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')")) {
            rs.next();
            long n = rs.getLong(1);
            if (n > 0) {
                throw new BackupException(Stage.RESTORE, "target database '" + database + "' at " + target + " is not empty: it has "
                        + n + " relations (e.g. " + rs.getString(2) + "); restore into a new database or pass "
                        + "allowNonEmpty(true)", null, false, m.id());
            }
            return true;
        } catch (SQLException e) {
            throw new BackupException(Stage.RESTORE, "could not inspect target database '" + database + "' at " + target + ": "
                    + e.getMessage(), e, true, m.id());
        }
    }

    /**
     * Creates a database with the source database's encoding and locale, as the backup recorded
     * them: text in another encoding would be converted, and so no longer byte for byte the same.
     */
    void createDatabase(Manifest m, String name) {
        String encoding = m.attributes().get("postgresql.encoding");
        String collate = m.attributes().get("postgresql.lc_collate");
        String ctype = m.attributes().get("postgresql.lc_ctype");
        StringBuilder sql = new StringBuilder("CREATE DATABASE " + PostgresInstance.quoteIdent(name) + " TEMPLATE template0");
        if (encoding != null) {
            sql.append(" ENCODING ").append(quoteLiteral(encoding));
        }
        if (collate != null && ctype != null) {
            sql.append(" LC_COLLATE ").append(quoteLiteral(collate)).append(" LC_CTYPE ").append(quoteLiteral(ctype));
        }
        try (Connection c = target.connect("postgres"); Statement st = c.createStatement()) {
            st.execute(sql.toString());
        } catch (SQLException e) {
            throw new BackupException(Stage.RESTORE, "could not create database '" + name + "' at " + target
                    + (encoding == null ? "" : " with the source's encoding " + encoding + " and locale " + collate + "/" + ctype
                    + " (the target server must have that locale)") + ": " + e.getMessage(), e, false, m.id());
        }
    }

    /** Removes a staging database after a failure; the failure being reported matters more than this one. */
    void dropQuietly(String staging) {
        try (Connection c = target.connect("postgres"); Statement st = c.createStatement()) {
            boolean force = c.getMetaData().getDatabaseMajorVersion() >= 13;
            st.execute("DROP DATABASE IF EXISTS " + PostgresInstance.quoteIdent(staging) + (force ? " WITH (FORCE)" : ""));
        } catch (SQLException | RuntimeException ignored) {
            // best effort: the name says what it is, and it never becomes the target
        }
    }

    static String quoteLiteral(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
