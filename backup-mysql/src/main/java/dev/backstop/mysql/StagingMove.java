package dev.backstop.mysql;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Moves every object of a loaded staging database into the target database: MariaDB has no
 * {@code RENAME DATABASE}. Tables move together in one atomic {@code RENAME TABLE}; views and
 * triggers cannot move across databases, so they are dropped in staging first and re-created in
 * the target, as are routines and events, each with the SQL mode, character set, collation and
 * time zone it was created under. A view that reads another database names every table it
 * reads with its database, its own too: into a target named otherwise than the backed-up
 * database, such a view is re-created reading the target's tables, not the source's. A
 * trigger, routine or event whose body names the backed-up database is re-created as written (it
 * is code: it may build statements, quote the name in strings), and {@link #run} returns a
 * warning naming it. A target this move created is dropped again if a step fails.
 */
final class StagingMove {
    private final MariaDbEndpoint target;
    private final String staging;
    private final String database;
    private final String source;
    private final boolean writeBinlog;

    /** {@code source}: the name of the database the backup was taken of, null if unknown. */
    StagingMove(MariaDbEndpoint target, String staging, String database, String source, boolean writeBinlog) {
        this.target = target;
        this.staging = staging;
        this.database = database;
        this.source = source;
        this.writeBinlog = writeBinlog;
    }

    private Connection connect(String db) throws SQLException {
        Connection c = target.connect(db);
        if (!writeBinlog) {
            try (Statement st = c.createStatement()) {
                st.execute(MariaDbRestore.NO_BINLOG);
            } catch (SQLException e) {
                c.close();
                throw e;
            }
        }
        return c;
    }

    /** One object to re-create: its statement and the session settings it was created under. */
    private record Definition(String kind, String name, String sqlMode, String charsetClient, String collation,
                              String timeZone, String statement) {
    }

    /**
     * Moves every object from {@code staging} into the target; returns a warning for each object
     * re-created as written that names the backed-up database (into a target of another name).
     */
    List<String> run(boolean create, String defaults) throws SQLException {
        List<Definition> views = new ArrayList<>();
        List<Definition> others = new ArrayList<>();
        List<String> tables = new ArrayList<>();
        try (Connection c = connect(staging)) {
            for (String[] t : Sql.pairs(c, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? "
                    + "ORDER BY TABLE_NAME", staging)) {
                if ("VIEW".equals(t[1])) {
                    String[] v = Sql.showCreate(c, "SHOW CREATE VIEW " + Sql.ident(t[0]));
                    String statement = source == null || source.equals(database) ? v[1] : Sql.requalify(v[1], source, database);
                    views.add(new Definition("view", t[0], null, v[2], v[3], null, statement));
                } else {
                    tables.add(t[0]);
                }
            }
            for (String[] t : Sql.pairs(c, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
                    + "WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER", staging)) {
                String[] s = Sql.showCreate(c, "SHOW CREATE TRIGGER " + Sql.ident(t[0]));
                others.add(new Definition("trigger", t[0], s[1], s[3], s[4], null, s[2]));
            }
            for (String[] r : Sql.pairs(c, "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES "
                    + "WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME", staging)) {
                String[] s = Sql.showCreate(c, "SHOW CREATE " + r[1] + " " + Sql.ident(r[0]));
                others.add(new Definition(r[1].toLowerCase(Locale.ROOT), r[0], s[1], s[3], s[4], null, s[2]));
            }
            for (String[] e : Sql.pairs(c, "SELECT EVENT_NAME, EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? "
                    + "ORDER BY EVENT_NAME", staging)) {
                String[] s = Sql.showCreate(c, "SHOW CREATE EVENT " + Sql.ident(e[0]));
                others.add(new Definition("event", e[0], s[1], s[4], s[5], s[2], s[3]));
            }
            try (Statement st = c.createStatement()) {
                // a table with triggers cannot move to another database; views cannot move at all
                for (Definition d : others) {
                    if (d.kind().equals("trigger")) {
                        st.execute("DROP TRIGGER " + Sql.ident(d.name()));
                    }
                }
                for (Definition v : views) {
                    st.execute("DROP VIEW " + Sql.ident(v.name()));
                }
            }
        }
        boolean created = false;
        try {
            if (create) {
                execute("CREATE DATABASE " + Sql.ident(database) + defaults);
                created = true;
            }
            if (!tables.isEmpty()) {
                List<String> pairs = new ArrayList<>();
                for (String t : tables) {
                    pairs.add(Sql.ident(staging) + "." + Sql.ident(t) + " TO " + Sql.ident(database) + "." + Sql.ident(t));
                }
                execute("RENAME TABLE " + String.join(", ", pairs));
            }
            try (Connection c = connect(database)) {
                createViews(c, views);
                for (Definition d : others) {
                    recreate(c, d);
                }
            }
            return sourceNamedBy(others);
        } catch (SQLException | RuntimeException e) {
            if (created) {
                dropQuietly(database);
            }
            throw e;
        }
    }

    private List<String> sourceNamedBy(List<Definition> definitions) {
        List<String> warnings = new ArrayList<>();
        if (source == null || source.equals(database)) {
            return warnings;
        }
        for (Definition d : definitions) {
            if (Sql.qualifiesWith(d.statement(), source)) {
                warnings.add(d.kind() + " " + d.name() + " names database " + source + " in its body; restored into " + database
                        + ", it still reads or writes " + source);
            }
        }
        return warnings;
    }

    /** Creates views in an order their dependencies allow: each pass creates what it can. */
    private static void createViews(Connection c, List<Definition> views) throws SQLException {
        List<Definition> left = new ArrayList<>(views);
        while (!left.isEmpty()) {
            List<Definition> failed = new ArrayList<>();
            SQLException last = null;
            for (Definition v : left) {
                try {
                    recreate(c, v);
                } catch (SQLException e) {
                    failed.add(v);
                    last = e;
                }
            }
            if (failed.size() == left.size()) {
                throw new SQLException("could not re-create view " + failed.get(0).name() + ": " + last.getMessage(),
                        last.getSQLState(), last.getErrorCode(), last);
            }
            left = failed;
        }
    }

    private static void recreate(Connection c, Definition d) throws SQLException {
        try (Statement st = c.createStatement()) {
            if (d.sqlMode() != null) {
                st.execute("SET SESSION sql_mode = " + Sql.literal(d.sqlMode()));
            }
            if (d.timeZone() != null) {
                st.execute("SET SESSION time_zone = " + Sql.literal(d.timeZone()));
            }
            if (d.charsetClient() != null) {
                st.execute("SET SESSION character_set_client = " + Sql.literal(d.charsetClient()));
            }
            if (d.collation() != null) {
                st.execute("SET SESSION collation_connection = " + Sql.literal(d.collation()));
            }
            st.execute(d.statement());
        } catch (SQLException e) {
            throw new SQLException("could not re-create " + d.kind() + " " + d.name() + " in the target: " + e.getMessage(),
                    e.getSQLState(), e.getErrorCode(), e);
        }
    }


    private void execute(String sql) throws SQLException {
        try (Connection c = connect(null); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private void dropQuietly(String name) {
        try {
            execute("DROP DATABASE IF EXISTS " + Sql.ident(name));
        } catch (SQLException ignored) {
            // the move already failed; that failure is what the caller reports
        }
    }
}
