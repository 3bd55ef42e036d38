package dev.backstop.postgres.physical;

import dev.backstop.core.Fingerprints;
import dev.backstop.core.TableFingerprint;
import dev.backstop.postgres.logical.PgFingerprints;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fingerprints of a database as a physical recovery reproduces them. Two things differ by design
 * between a running cluster and its recovered copy, and are left out on both sides: the rows of
 * unlogged tables (recovery empties them) and sequence positions ({@code nextval} writes its WAL
 * up to 32 values ahead, so a recovered sequence may stand further on than a snapshot read it).
 */
final class PointPrints {
    private PointPrints() {
    }

    /**
     * The fingerprints of the database {@code c} is connected to, in its current transaction
     * (auto-commit off), comparable with {@code like} when given; without unlogged tables.
     */
    static Fingerprints take(Connection c, Fingerprints like) throws SQLException {
        Fingerprints f = PgFingerprints.compute(c, like);
        Set<String> unlogged = new HashSet<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
                     + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND c.relpersistence = 'u'")) {
            while (rs.next()) {
                unlogged.add(rs.getString(1) + "." + rs.getString(2));
            }
        }
        Map<String, TableFingerprint> tables = new LinkedHashMap<>(f.tables());
        tables.keySet().removeAll(unlogged);
        return new Fingerprints(f.schemaHash(), tables, f.objects());
    }

    /** The differences between {@code expected} and {@code actual}, sequence positions aside. */
    static List<String> differences(Fingerprints expected, Fingerprints actual) {
        return withoutSequencePositions(expected).differencesFrom(withoutSequencePositions(actual));
    }

    static Fingerprints withoutSequencePositions(Fingerprints f) {
        Map<String, String> objects = new LinkedHashMap<>();
        f.objects().forEach((k, v) -> {
            if (!k.startsWith("sequence ")) {
                objects.put(k, v);
                return;
            }
            StringBuilder kept = new StringBuilder();
            for (String field : v.split(" ")) {
                if (!field.startsWith("last_value=") && !field.startsWith("is_called=")) {
                    kept.append(kept.length() == 0 ? "" : " ").append(field);
                }
            }
            objects.put(k, kept.length() == 0 ? "exists=true" : kept.toString());
        });
        return new Fingerprints(f.schemaHash(), f.tables(), objects);
    }
}
