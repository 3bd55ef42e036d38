package dev.backstop.postgres;

import dev.backstop.core.Digest;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.TableFingerprint;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fingerprints of a PostgreSQL database that a restore must reproduce exactly: per table the row
 * count and a content hash, plus one hash of the schema.
 *
 * <p><b>Guarantees.</b> The content hash does not depend on row order or physical layout, and the
 * server needs constant memory for it whatever the table size: it is the exact ({@code numeric})
 * sum of a 64-bit hash of each row, with the row count. Rows are hashed by value with
 * {@code hash_record_extended} (PostgreSQL 14+; prefix {@code r:}) or, for tables with a column
 * type that has no hash function and on older servers, by their text form under fixed output
 * settings (UTC, ISO dates, hex bytea, shortest exact floats) with {@code hashtextextended}
 * (prefix {@code t:}). Both are the functions behind hash partitioning, whose values PostgreSQL
 * keeps stable across versions; {@link #compute(Connection, Fingerprints)} reuses the recorded
 * method, so a check on another server version compares like with like. The schema hash is a
 * SHA-256 over columns (name, type, nullability, default), constraints, indexes and views as the
 * catalogs describe them, with every name schema-qualified and no OIDs, so a faithful restore into
 * another server yields the same value.
 *
 * <p><b>Restrictions.</b> Hash values may differ between little- and big-endian servers, so
 * compare fingerprints taken on the same architecture. Covers ordinary tables and partitions of user schemas (not
 * extension-owned or temporary ones); sequences' positions and large objects are not hashed.
 * The computation reads every row: budget one sequential scan per table. It runs inside the
 * caller's current transaction (use REPEATABLE READ for a stable view) and changes only
 * transaction-local settings.
 *
 * <p><b>Threading.</b> Stateless; one connection per call, which must not be used concurrently.
 */
public final class PgFingerprints {
    private static final String USER_SCHEMAS = "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";
    private static final String NOT_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "
            + "'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')";

    private static final String RECORD = "r:";
    private static final String TEXT = "t:";

    private PgFingerprints() {
    }

    /**
     * Computes the fingerprints of the database {@code c} is connected to, inside the current
     * transaction (auto-commit must be off).
     */
    public static Fingerprints compute(Connection c) throws SQLException {
        return compute(c, null);
    }

    /**
     * Computes fingerprints comparable with {@code like}: each table is hashed the way it was
     * hashed in {@code like} (row values or row text), so a backup taken on one server version
     * can be checked on another. Tables {@code like} lacks are hashed the best way available.
     */
    public static Fingerprints compute(Connection c, Fingerprints like) throws SQLException {
        if (c.getAutoCommit()) {
            throw new IllegalStateException("connection: auto-commit is on; fingerprints must be taken inside one "
                    + "REPEATABLE READ transaction so all tables are seen at the same instant");
        }
        try (Statement st = c.createStatement()) {
            st.execute("SET LOCAL search_path = ''");
            st.execute("SET LOCAL TimeZone = 'UTC'");
            st.execute("SET LOCAL DateStyle = 'ISO, YMD'");
            st.execute("SET LOCAL IntervalStyle = 'postgres'");
            st.execute("SET LOCAL bytea_output = 'hex'");
            st.execute("SET LOCAL extra_float_digits = 1");
            st.execute("SET LOCAL lc_monetary = 'C'");
        }
        return new Fingerprints(schemaHash(c), tables(c, like));
    }

    private static Map<String, TableFingerprint> tables(Connection c, Fingerprints like) throws SQLException {
        List<String[]> names = new ArrayList<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT n.nspname, c.relname, pg_catalog.format('%I.%I', n.nspname, c.relname) "
                     + "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                     + "WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND " + USER_SCHEMAS + " AND " + NOT_EXTENSION
                     + " ORDER BY 1, 2")) {
            while (rs.next()) {
                names.add(new String[] {rs.getString(1) + "." + rs.getString(2), rs.getString(3)});
            }
        }
        boolean recordHash = c.getMetaData().getDatabaseMajorVersion() >= 14;
        Map<String, TableFingerprint> out = new LinkedHashMap<>();
        for (String[] n : names) {
            TableFingerprint given = like == null ? null : like.tables().get(n[0]);
            boolean byRecord = given != null ? given.contentHash().startsWith(RECORD) : recordHash;
            TableFingerprint fp = null;
            if (byRecord) {
                // hash_record_extended hashes column values with their types' hash functions, 2-3x
                // cheaper than formatting rows as text; types without one (json, point, ...) fall back
                Savepoint sp = c.setSavepoint();
                try {
                    fp = table(c, n[1], RECORD, "pg_catalog.hash_record_extended(t, 0)");
                    c.releaseSavepoint(sp);
                } catch (SQLException e) {
                    c.rollback(sp);
                    if (given != null) {
                        throw e;
                    }
                }
            }
            out.put(n[0], fp != null ? fp : table(c, n[1], TEXT, "pg_catalog.hashtextextended(t::text, 0)"));
        }
        return out;
    }

    private static TableFingerprint table(Connection c, String qualified, String method, String rowHash) throws SQLException {
        // 64-bit row hashes summed exactly (sum(bigint) is numeric): order-independent, constant memory
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), coalesce(sum(" + rowHash + "), 0) FROM ONLY " + qualified + " t")) {
            rs.next();
            long rows = rs.getLong(1);
            return new TableFingerprint(rows, method + Digest.sha256((rows + ":" + rs.getString(2))
                    .getBytes(StandardCharsets.UTF_8)).hex().substring(0, 32));
        }
    }

    private static String schemaHash(Connection c) throws SQLException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
        // columns in attnum order but without attnum, so dropped columns leave no trace
        feed(md, c, "columns", "SELECT n.nspname, c.relname, c.relkind, a.attname, "
                + "pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) "
                + "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
                + "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relpersistence <> 't' "
                + "AND " + USER_SCHEMAS + " AND " + NOT_EXTENSION + " ORDER BY n.nspname, c.relname, a.attnum");
        feed(md, c, "constraints", "SELECT n.nspname, c.relname, co.conname, pg_catalog.pg_get_constraintdef(co.oid, true) "
                + "FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class c ON c.oid = co.conrelid "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE " + USER_SCHEMAS + " AND " + NOT_EXTENSION + " ORDER BY 1, 2, 3, 4");
        feed(md, c, "indexes", "SELECT n.nspname, c.relname, i.relname, pg_catalog.pg_get_indexdef(x.indexrelid) "
                + "FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indrelid "
                + "JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE " + USER_SCHEMAS + " AND " + NOT_EXTENSION + " ORDER BY 1, 2, 3");
        feed(md, c, "views", "SELECT n.nspname, c.relname, pg_catalog.pg_get_viewdef(c.oid, true) "
                + "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE c.relkind IN ('v', 'm') AND " + USER_SCHEMAS + " AND " + NOT_EXTENSION + " ORDER BY 1, 2");
        return "sha256:" + HexFormat.of().formatHex(md.digest());
    }

    private static void feed(MessageDigest md, Connection c, String section, String sql) throws SQLException {
        md.update(("[" + section + "]\n").getBytes(StandardCharsets.UTF_8));
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData meta = rs.getMetaData();
            int cols = meta.getColumnCount();
            StringBuilder line = new StringBuilder();
            while (rs.next()) {
                line.setLength(0);
                for (int i = 1; i <= cols; i++) {
                    String v = rs.getString(i);
                    // length-prefixed so no value can imitate a separator
                    line.append(v == null ? -1 : v.length()).append(':').append(v == null ? "" : v).append('|');
                }
                line.append('\n');
                md.update(line.toString().getBytes(StandardCharsets.UTF_8));
            }
        }
    }
}
