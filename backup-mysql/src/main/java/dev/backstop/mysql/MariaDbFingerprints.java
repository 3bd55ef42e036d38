package dev.backstop.mysql;

import dev.backstop.core.Digest;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.TableFingerprint;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Fingerprints of one MariaDB/MySQL database that a restore must reproduce exactly: per table the
 * row count and a content hash, per schema object (table, view, procedure, function, trigger,
 * event, the database's defaults) a definition hash, and one schema hash over all of them.
 *
 * <p><b>Guarantees.</b> The content hash ({@code d:} prefix) does not depend on row order or
 * physical layout and needs constant memory: it is a sum modulo 2<sup>64</sup> of a 64-bit hash of
 * each row ({@link RowHash}), with the row count. Each value is hashed as {@code mariadb-dump
 * --hex-blob} transfers it, read with {@code SET time_zone = '+00:00'} as the dump's own {@code
 * --tz-utc}: binary, BLOB, BIT and spatial values as their bytes, every other value as the
 * server's text in utf8mb4 (DECIMAL keeps its scale, so {@code 1.50} is not {@code 1.5}; strings
 * keep trailing spaces under PAD SPACE collations; NULL differs from the empty string; TIMESTAMP
 * in UTC; generated and invisible columns included, as the dump writes them). So a capture can
 * take the same fingerprints from its dump stream as it flows ({@link DumpRows}), and a restored
 * server is compared with them by this scan. Table keys are bare table names (the database's
 * name is not part of them), so a restore into a database of another name compares like with
 * like. Definition hashes are taken from {@code SHOW CREATE ...} with the database as the
 * session's default (so references inside it are unqualified), without the AUTO_INCREMENT
 * counter and without creation times.
 *
 * <p><b>Restrictions.</b> Hashes are comparable between servers of the same flavour and major
 * version (value text may change between versions). Only what a single-database dump holds is
 * covered: base tables (system-versioned ones with their current rows), views, routines,
 * triggers and events; sequences' positions are not hashed. FLOAT is hashed as the dump writes it
 * (6 significant digits), so a FLOAT the dump cannot carry exactly is not visible here: the
 * capture looks for such values separately ({@code mariadb.lossy_float_columns}). Run inside
 * {@code START TRANSACTION WITH CONSISTENT SNAPSHOT} so that all tables are seen at one instant;
 * definitions are read as they are now, because DDL is not transactional. Every row is read once.
 * Fingerprints recorded as server text ({@code m:} prefix, FLOAT widened to DOUBLE, binary values
 * as hex, rows hashed with SHA-256) are still reproduced for comparison by {@link #computeLike}.
 *
 * <p><b>Threading.</b> Stateless; one connection per call, not used concurrently.
 */
public final class MariaDbFingerprints {
    /** Prefix of the per-object definition hashes in a manifest's attributes. */
    public static final String SCHEMA_ATTRIBUTE_PREFIX = "mariadb.schema.";
    private static final String CONTENT = "d:";
    private static final String SERVER_TEXT = "m:";
    private static final Pattern AUTO_INCREMENT = Pattern.compile(" AUTO_INCREMENT=\\d+");
    private static final Set<String> BINARY_TYPES = Set.of("binary", "varbinary", "tinyblob", "blob", "mediumblob",
            "longblob", "bit", "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
            "multipolygon", "geometrycollection");

    private MariaDbFingerprints() {
    }

    /** Everything taken of one database: the fingerprints and the per-object definition hashes. */
    public record Result(Fingerprints fingerprints, Map<String, String> objects) {
        public Result {
            objects = Map.copyOf(objects);
        }

        /** The definition hashes as manifest attributes ({@value #SCHEMA_ATTRIBUTE_PREFIX}{@code <kind>:<name>}). */
        public Map<String, String> attributes() {
            Map<String, String> out = new TreeMap<>();
            objects.forEach((k, v) -> out.put(SCHEMA_ATTRIBUTE_PREFIX + k, v));
            return out;
        }
    }

    /**
     * Computes the fingerprints of {@code database} through {@code c}, inside its current
     * transaction; makes {@code database} the session's default database and sets the session's
     * time zone to UTC.
     */
    public static Result compute(Connection c, String database) throws SQLException {
        return compute(c, database, false);
    }

    /**
     * As {@link #compute}, by the definition {@code expected} was recorded with: the one of
     * {@link #compute} for {@code d:} content hashes, server text for {@code m:} ones.
     */
    public static Result computeLike(Connection c, String database, Fingerprints expected) throws SQLException {
        boolean serverText = expected != null && expected.tables().values().stream()
                .anyMatch(t -> t.contentHash().startsWith(SERVER_TEXT));
        return compute(c, database, serverText);
    }

    private static Result compute(Connection c, String database, boolean serverText) throws SQLException {
        Map<String, String> objects = definitions(c, database);
        Map<String, TableFingerprint> tables = new TreeMap<>();
        for (String table : baseTables(c, database)) {
            tables.put(table, content(c, database, table, serverText));
        }
        return new Result(new Fingerprints(schemaHash(objects), tables), objects);
    }

    /** The fingerprints of a dump: its tables' rows as {@link DumpRows} read them, with {@code objects}' definitions. */
    static Result of(Map<String, TableFingerprint> tables, Map<String, String> objects) {
        return new Result(new Fingerprints(schemaHash(objects), tables), objects);
    }

    /** The per-object definition hashes recorded in a manifest's attributes, keyed {@code <kind>:<name>}. */
    public static Map<String, String> objectsOf(Map<String, String> attributes) {
        Map<String, String> out = new TreeMap<>();
        attributes.forEach((k, v) -> {
            if (k.startsWith(SCHEMA_ATTRIBUTE_PREFIX)) {
                out.put(k.substring(SCHEMA_ATTRIBUTE_PREFIX.length()), v);
            }
        });
        return out;
    }

    /** One sentence per object whose definition differs, is missing or is extra; empty when equal. */
    public static List<String> differences(Map<String, String> expected, Map<String, String> actual) {
        List<String> out = new ArrayList<>();
        TreeMap<String, String> all = new TreeMap<>(expected);
        actual.forEach(all::putIfAbsent);
        for (String key : all.keySet()) {
            String e = expected.get(key);
            String a = actual.get(key);
            String name = key.replaceFirst(":", " ");
            if (a == null) {
                out.add(name + ": in the backup, missing after restore");
            } else if (e == null) {
                out.add(name + ": not in the backup, found after restore");
            } else if (!e.equals(a)) {
                out.add(name + ": definition differs (expected hash " + e + ", found " + a + ")");
            }
        }
        return out;
    }

    static String schemaHash(Map<String, String> objects) {
        StringBuilder s = new StringBuilder();
        new TreeMap<>(objects).forEach((k, v) -> s.append(k).append('=').append(v).append('\n'));
        return "sha256:" + Digest.sha256(s.toString().getBytes(StandardCharsets.UTF_8)).hex();
    }

    static List<String> baseTables(Connection c, String database) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT TABLE_NAME FROM information_schema.TABLES "
                + "WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    private static TableFingerprint content(Connection c, String database, String table, boolean serverText)
            throws SQLException {
        List<String> exprs = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                + "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION")) {
            ps.setString(1, database);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String col = Sql.ident(rs.getString(1));
                    String type = rs.getString(2).toLowerCase(Locale.ROOT);
                    // the server prints every value; the driver would reformat temporal and floating values
                    if (BINARY_TYPES.contains(type)) {
                        // a dump writes these as 0x... (--hex-blob), which DumpRows decodes back to the bytes
                        exprs.add(serverText ? "HEX(" + col + ")" : "CAST(" + col + " AS BINARY)");
                    } else if (serverText && type.equals("float")) {
                        // the server prints FLOAT with 6 digits, so 1.0000001 and 1 would look alike; as DOUBLE it is exact
                        exprs.add("CAST(CAST(" + col + " AS DOUBLE) AS CHAR CHARACTER SET utf8mb4)");
                    } else {
                        exprs.add("CAST(" + col + " AS CHAR CHARACTER SET utf8mb4)");
                    }
                }
            }
        }
        long rows = 0;
        long sum = 0;
        RowHash hash = new RowHash();
        try (Statement st = c.createStatement()) {
            // streams the rows instead of buffering the table in memory
            st.setFetchSize(1000);
            try (ResultSet rs = st.executeQuery("SELECT " + String.join(", ", exprs) + " FROM " + Sql.ident(database) + "."
                    + Sql.ident(table))) {
                ResultSetMetaData meta = rs.getMetaData();
                int n = meta.getColumnCount();
                while (rs.next()) {
                    for (int i = 1; i <= n; i++) {
                        hash.value(rs.getBytes(i));
                    }
                    sum += serverText ? hash.finishRowSha256() : hash.finishRow();
                    rows++;
                }
            }
        }
        return new TableFingerprint(rows, (serverText ? SERVER_TEXT : CONTENT) + hashOf(rows, sum));
    }

    /** The content hash of {@code rows} rows whose row hashes sum to {@code sum}. */
    static String contentHash(long rows, long sum) {
        return CONTENT + hashOf(rows, sum);
    }

    private static String hashOf(long rows, long sum) {
        return Digest.sha256((rows + ":" + Long.toUnsignedString(sum)).getBytes(StandardCharsets.UTF_8))
                .hex().substring(0, 32);
    }

    /**
     * The definition hash of every schema object of {@code database}; makes {@code database} the
     * session's default database and sets the session's time zone to UTC.
     */
    static Map<String, String> definitions(Connection c, String database) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("USE " + Sql.ident(database));
            st.execute("SET time_zone = '+00:00'");
        }
        Map<String, String> out = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
                + "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?")) {
            ps.setString(1, database);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    out.put("database:defaults", hash(rs.getString(1), rs.getString(2)));
                }
            }
        }
        for (String[] t : Sql.pairs(c, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? "
                + "ORDER BY TABLE_NAME", database)) {
            if ("VIEW".equals(t[1])) {
                String[] v = Sql.showCreate(c, "SHOW CREATE VIEW " + Sql.ident(t[0]));
                // without the database's own name: a view that reads another database names its own
                // too, and a restore may give the database another name
                out.put("view:" + t[0], hash(Sql.requalify(v[1], database, "")));
            } else if ("SEQUENCE".equals(t[1])) {
                out.put("sequence:" + t[0], hash(Sql.showCreate(c, "SHOW CREATE SEQUENCE " + Sql.ident(t[0]))[1]));
            } else {
                String ddl = AUTO_INCREMENT.matcher(Sql.showCreate(c, "SHOW CREATE TABLE " + Sql.ident(t[0]))[1]).replaceAll("");
                out.put("table:" + t[0], hash(ddl));
            }
        }
        for (String[] r : Sql.pairs(c, "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? "
                + "ORDER BY ROUTINE_TYPE, ROUTINE_NAME", database)) {
            String kind = r[1].toLowerCase(Locale.ROOT);
            String[] s = Sql.showCreate(c, "SHOW CREATE " + r[1] + " " + Sql.ident(r[0]));
            // name, sql_mode, statement (null without the privilege to see it)
            out.put(kind + ":" + r[0], hash(s[1], s[2]));
        }
        for (String[] t : Sql.pairs(c, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
                + "WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME", database)) {
            String[] s = Sql.showCreate(c, "SHOW CREATE TRIGGER " + Sql.ident(t[0]));
            out.put("trigger:" + t[0], hash(s[1], s[2]));
        }
        for (String[] e : Sql.pairs(c, "SELECT EVENT_NAME, EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? "
                + "ORDER BY EVENT_NAME", database)) {
            String[] s = Sql.showCreate(c, "SHOW CREATE EVENT " + Sql.ident(e[0]));
            // name, sql_mode, time_zone, statement
            out.put("event:" + e[0], hash(s[1], s[2], s[3]));
        }
        return out;
    }

    private static String hash(String... parts) {
        StringBuilder s = new StringBuilder();
        for (String p : parts) {
            // length-prefixed so no value can imitate a separator
            s.append(p == null ? -1 : p.length()).append(':').append(p == null ? "" : p).append('|');
        }
        return Digest.sha256(s.toString().getBytes(StandardCharsets.UTF_8)).hex().substring(0, 32);
    }
}
