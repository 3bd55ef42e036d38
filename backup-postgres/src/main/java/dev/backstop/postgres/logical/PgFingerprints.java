package dev.backstop.postgres.logical;

import dev.backstop.core.Digest;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.TableFingerprint;
import dev.backstop.postgres.internal.CopyHashCheck;
import dev.backstop.postgres.internal.CopyHashTap;
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
 * count and a content hash, and per schema object a short proof, so a difference names the object
 * and what differs ({@code trigger public.orders.audit_trg: missing}, {@code sequence
 * public.orders_id_seq: expected last_value 1843, found 1}, {@code column public.t.c: default differs}).
 *
 * <p><b>Guarantees.</b> The content hash does not depend on row order or physical layout, and
 * needs constant memory whatever the table size: it is a sum of a 64-bit hash of each row, with
 * the row count, and its prefix names how rows were hashed.
 * <ul>
 *   <li>{@code c:} (every new fingerprint): the row's COPY text line, hashed with the line hash of
 *   Backstop's {@code CopyLineHash} (an xxHash64-style function; its Javadoc defines it exactly),
 *   summed mod 2<sup>64</sup>. The lines are either pg_dump's own COPY data hashed as the dump
 *   streams ({@link FingerprintMethod#STREAM}) or {@code COPY table (columns) TO STDOUT} run by
 *   Backstop in the same snapshot over the columns pg_dump copies (not dropped, not generated, in
 *   attnum order) with pg_dump's output settings (DateStyle ISO, IntervalStyle postgres,
 *   extra_float_digits 3, empty search_path) plus TimeZone UTC, bytea_output hex, lc_monetary C,
 *   client encoding UTF8 and row_security off. One rule, whatever the dump format: {@code 1.50} and
 *   {@code 1.5} in numeric, {@code 0} and {@code -0} in float8, {@code 1.0} and {@code 1} in jsonb,
 *   and array elements hash differently.</li>
 *   <li>{@code r:} and {@code t:}, recorded by earlier versions ({@code hash_record_extended} of the
 *   values, {@code hashtextextended} of the row's text, summed on the server): still reproduced
 *   by {@link #compute(Connection, Fingerprints)}, which reuses the recorded method per table, so
 *   those backups keep verifying. They do not tell {@code 1.50} from {@code 1.5}.</li>
 * </ul>
 * Each schema object gets a proof keyed {@code "<kind> <schema>.<name>"}: schemas, tables
 * (persistence, row security and its forcing, partition key and bound, inheritance, options,
 * replica identity), columns (position, type, collation, NOT NULL, default, generation
 * expression, identity, storage), constraints, indexes, triggers (and whether enabled), rules,
 * policies, functions, procedures and aggregates (by signature and body), types and domains,
 * sequences (parameters, owning column, {@code last_value} and {@code is_called}), views and
 * materialized views (definition), extended statistics, publications and extensions (version),
 * each with its comment, owner and privileges where it has them, plus the roles those name
 * ({@code role <name>}). They are read through the catalogs' deparsing functions under an empty
 * search_path, without OIDs, so a faithful restore into another server yields the same proofs.
 * Fingerprints recorded before proofs existed carry only an opaque schema hash; checked against
 * them, this computes that same hash.
 *
 * <p><b>Restrictions.</b> A sequence's position is not transactional: it is read when the
 * fingerprints are taken, as pg_dump reads it when it dumps the sequence, so a sequence advanced
 * between those two moments on a busy database is reported (a custom dump hashed as it streams
 * records the positions of its own SEQUENCE SET entries instead). Object proofs are meant to be
 * compared on the same major version: the deparsing functions may word a definition differently
 * in another. Server-side hash values may differ
 * between little- and big-endian servers (older {@code r:}/{@code t:} only). Types of extensions
 * are assumed to print independently of session settings. Covers ordinary tables and partitions of
 * user schemas (not extension-owned or temporary ones); large objects are not hashed. The
 * computation reads every row: budget one COPY per table. It runs inside the caller's current
 * transaction (use REPEATABLE READ for a stable view) and changes only transaction-local settings.
 *
 * <p><b>Threading.</b> Stateless; one connection per call, which must not be used concurrently.
 */
public final class PgFingerprints {
    private static final String USER_SCHEMAS = "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";
    private static final String NOT_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "
            + "'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')";

    private static final String RECORD = "r:";
    private static final String TEXT = "t:";
    private static final String COPY = "c:";

    private PgFingerprints() {
    }

    /**
     * Computes the fingerprints of the database {@code c} is connected to, inside the current
     * transaction (auto-commit must be off): object proofs and {@code c:} hashes of COPY text.
     * To check a database against recorded fingerprints, use {@link #compute(Connection, Fingerprints)}:
     * a backup's {@code c:} hashes are only reproduced that way.
     */
    public static Fingerprints compute(Connection c) throws SQLException {
        return compute(c, null);
    }

    /**
     * Computes fingerprints comparable with {@code like}: each table is hashed the way it was
     * hashed in {@code like} (COPY text, or the row values or row text of older backups), and the
     * schema as {@code like} recorded it (object proofs, or the opaque hash of older backups).
     * Tables {@code like} lacks are hashed by COPY text.
     */
    public static Fingerprints compute(Connection c, Fingerprints like) throws SQLException {
        return compute(c, like, List.of());
    }

    /**
     * Like {@link #compute(Connection, Fingerprints)}, with the tables hashed by COPY spread over
     * {@code c} and the {@code helpers}, largest first, one thread per helper: a COPY costs the
     * server about twice a value hash, so a check on a server with spare cores uses them.
     * The helpers must be connected to the same database as {@code c} and idle (no open
     * transaction); each imports the snapshot of {@code c}'s transaction, so all see one instant,
     * and is left with its transaction rolled back and auto-commit off. Never closes a helper.
     */
    public static Fingerprints compute(Connection c, Fingerprints like, List<Connection> helpers) throws SQLException {
        pinSettings(c);
        boolean recordHash = c.getMetaData().getDatabaseMajorVersion() >= 14;
        Fingerprints schema = schema(c, like);
        List<Table> tables = tables(c);
        Map<String, TableFingerprint> server = new LinkedHashMap<>();
        List<Table> byCopy = new ArrayList<>();
        for (Table t : tables) {
            TableFingerprint given = like == null ? null : like.tables().get(t.name());
            if (given == null || given.contentHash().startsWith(COPY)) {
                byCopy.add(t);
            } else {
                server.put(t.name(), serverSide(c, t, given, recordHash));
            }
        }
        Map<String, TableFingerprint> out = new LinkedHashMap<>(server);
        out.putAll(copied(c, helpers, byCopy));
        return new Fingerprints(schema.schemaHash(), out, schema.objects());
    }

    /**
     * The schema part: per-object proofs, or for {@code like} fingerprints recorded without them
     * only the opaque hash those recorded, so older backups keep verifying.
     */
    private static Fingerprints schema(Connection c, Fingerprints like) throws SQLException {
        if (like != null && like.objects().isEmpty()) {
            return new Fingerprints(legacySchemaHash(c), Map.of());
        }
        Map<String, String> objects = SchemaProof.take(c);
        return new Fingerprints(SchemaProof.schemaHash(objects), Map.of(), objects);
    }

    /** COPY-text fingerprints ({@code c:}) of {@code tables}, taken in {@code c}'s transaction and the helpers'. */
    private static Map<String, TableFingerprint> copied(Connection c, List<Connection> helpers, List<Table> tables)
            throws SQLException {
        List<CopyHashCheck.Target> targets = new ArrayList<>();
        for (Table t : tables) {
            targets.add(new CopyHashCheck.Target(t.name(), t.qualified(), t.oid(), t.bytes()));
        }
        Map<String, CopyHashTap.Table> hashed = CopyHashCheck.run(c, helpers, PgFingerprints::pinSettings, targets);
        Map<String, TableFingerprint> out = new LinkedHashMap<>();
        for (Table t : tables) {
            CopyHashTap.Table h = hashed.get(t.name());
            out.put(t.name(), new TableFingerprint(h.rows(), copyHash(h.rows(), h.sum())));
        }
        return out;
    }

    /**
     * {@code f} without what names roles: the {@code owner} and {@code acl} attributes of every
     * object and the referenced roles, for comparing a restore made as another role (owners and
     * privileges not restored) with the backup, by applying it to both sides.
     */
    public static Fingerprints withoutOwnership(Fingerprints f) {
        Map<String, String> objects = new LinkedHashMap<>();
        f.objects().forEach((k, v) -> {
            if (k.startsWith(SchemaProof.ROLE)) {
                return;
            }
            StringBuilder kept = new StringBuilder();
            for (String field : v.split(" ")) {
                String name = field.split("[:=]", 2)[0];
                if (!SchemaProof.OWNERSHIP_FIELDS.contains(name)) {
                    kept.append(kept.length() == 0 ? "" : " ").append(field);
                }
            }
            objects.put(k, kept.length() == 0 ? "exists=true" : kept.toString());
        });
        return new Fingerprints(f.schemaHash(), f.tables(), objects);
    }

    /** The roles {@code f}'s schema refers to as owners, grantees or policy targets, sorted. */
    public static List<String> referencedRoles(Fingerprints f) {
        return List.copyOf(SchemaProof.roleNames(f.objects()));
    }

    /** A table of the database: {@code name} is {@code schema.table} unquoted, {@code qualified} quoted for SQL. */
    record Table(String name, String qualified, long oid, long bytes, boolean streamable) {
    }

    /**
     * The snapshot's share of stream fingerprints: the schema hash, every table, and server-side
     * fingerprints of those whose COPY text is not reproducible ({@link Table#streamable()} false).
     */
    record StreamPlan(Fingerprints schema, List<Table> tables, Map<String, TableFingerprint> serverSide) {
    }

    /** Takes the snapshot's share of stream fingerprints inside the current transaction. */
    static StreamPlan planStream(Connection c) throws SQLException {
        pinSettings(c);
        Fingerprints schema = schema(c, null);
        List<Table> tables = tables(c);
        List<Table> notStreamable = new ArrayList<>();
        for (Table t : tables) {
            if (!t.streamable()) {
                notStreamable.add(t);
            }
        }
        return new StreamPlan(schema, tables, copied(c, List.of(), notStreamable));
    }

    /**
     * Completes {@code plan} with the tables hashed from pg_dump's COPY data and the sequence
     * positions its SEQUENCE SET entries restore; a table without a data entry in the dump gets the
     * fingerprint of no rows, which is what a restore of it holds.
     */
    static Fingerprints withStream(StreamPlan plan, Map<String, CopyHashTap.Table> hashed,
                                   Map<String, CopyHashTap.SequencePosition> sequences) {
        Map<String, TableFingerprint> out = new LinkedHashMap<>();
        for (Table t : plan.tables()) {
            TableFingerprint server = plan.serverSide().get(t.name());
            if (server != null) {
                out.put(t.name(), server);
            } else {
                CopyHashTap.Table h = hashed.getOrDefault(t.name(), new CopyHashTap.Table(0, 0));
                out.put(t.name(), new TableFingerprint(h.rows(), copyHash(h.rows(), h.sum())));
            }
        }
        Map<String, String> objects = SchemaProof.withSequencePositions(plan.schema().objects(), sequences);
        return new Fingerprints(SchemaProof.schemaHash(objects), out, objects);
    }

    /** Completes {@code plan} in the same transaction, by COPY on the server, when the dump could not be hashed. */
    static Fingerprints withoutStream(Connection c, StreamPlan plan) throws SQLException {
        List<Table> rest = new ArrayList<>();
        for (Table t : plan.tables()) {
            if (!plan.serverSide().containsKey(t.name())) {
                rest.add(t);
            }
        }
        Map<String, TableFingerprint> out = new LinkedHashMap<>(plan.serverSide());
        out.putAll(copied(c, List.of(), rest));
        return new Fingerprints(plan.schema().schemaHash(), out, plan.schema().objects());
    }

    private static void pinSettings(Connection c) throws SQLException {
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
            // as pg_dump: a policy that would hide rows fails the COPY instead of thinning the hash
            st.execute("SET LOCAL row_security = off");
        }
    }

    /**
     * Ordinary tables and partitions of user schemas, and whether their COPY text is reproducible:
     * not if a copied column's type is or contains {@code money} (through domains, arrays,
     * composites, ranges), whose text follows {@code lc_monetary}.
     */
    private static List<Table> tables(Connection c) throws SQLException {
        int major = c.getMetaData().getDatabaseMajorVersion();
        String copied = major >= 12 ? " AND a.attgenerated = ''" : "";
        String multirange = major >= 14
                ? " UNION ALL SELECT rg.rngtypid FROM pg_catalog.pg_range rg WHERE rg.rngmultitypid = ty.oid" : "";
        String sql = "WITH RECURSIVE rel AS (SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND " + USER_SCHEMAS + " AND " + NOT_EXTENSION + "), "
                + "reach(rel, typ) AS (SELECT a.attrelid, a.atttypid FROM pg_catalog.pg_attribute a JOIN rel ON rel.oid = a.attrelid "
                + "WHERE a.attnum > 0 AND NOT a.attisdropped" + copied + " "
                + "UNION SELECT r.rel, x.sub FROM reach r JOIN pg_catalog.pg_type ty ON ty.oid = r.typ CROSS JOIN LATERAL ("
                + "SELECT ty.typbasetype WHERE ty.typtype = 'd' "
                + "UNION ALL SELECT ty.typelem WHERE ty.typelem <> 0 AND ty.typcategory = 'A' "
                + "UNION ALL SELECT ca.atttypid FROM pg_catalog.pg_attribute ca WHERE ty.typtype = 'c' AND ca.attrelid = ty.typrelid "
                + "AND ca.attnum > 0 AND NOT ca.attisdropped "
                + "UNION ALL SELECT rg.rngsubtype FROM pg_catalog.pg_range rg WHERE rg.rngtypid = ty.oid" + multirange
                + ") x(sub)) "
                + "SELECT rel.nspname, rel.relname, pg_catalog.format('%I.%I', rel.nspname, rel.relname), rel.oid, "
                + "pg_catalog.pg_relation_size(rel.oid), "
                + "NOT EXISTS (SELECT 1 FROM reach r WHERE r.rel = rel.oid AND r.typ = 'pg_catalog.money'::pg_catalog.regtype) "
                + "FROM rel ORDER BY 1, 2";
        List<Table> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(new Table(rs.getString(1) + "." + rs.getString(2), rs.getString(3), rs.getLong(4), rs.getLong(5), rs.getBoolean(6)));
            }
        }
        return out;
    }

    private static TableFingerprint serverSide(Connection c, Table t, TableFingerprint given, boolean recordHash)
            throws SQLException {
        boolean byRecord = given != null ? given.contentHash().startsWith(RECORD) : recordHash;
        if (byRecord) {
            // hash_record_extended hashes column values with their types' hash functions, 2-3x
            // cheaper than formatting rows as text; types without one (json, point, ...) fall back
            Savepoint sp = c.setSavepoint();
            try {
                TableFingerprint fp = summed(c, t.qualified(), RECORD, "pg_catalog.hash_record_extended(t, 0)");
                c.releaseSavepoint(sp);
                return fp;
            } catch (SQLException e) {
                c.rollback(sp);
                if (given != null) {
                    throw e;
                }
            }
        }
        return summed(c, t.qualified(), TEXT, "pg_catalog.hashtextextended(t::text, 0)");
    }

    private static TableFingerprint summed(Connection c, String qualified, String method, String rowHash) throws SQLException {
        // 64-bit row hashes summed exactly (sum(bigint) is numeric): order-independent, constant memory
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), coalesce(sum(" + rowHash + "), 0) FROM ONLY " + qualified + " t")) {
            rs.next();
            long rows = rs.getLong(1);
            return new TableFingerprint(rows, method + Digest.sha256((rows + ":" + rs.getString(2))
                    .getBytes(StandardCharsets.UTF_8)).hex().substring(0, 32));
        }
    }

    static String copyHash(long rows, long sum) {
        return COPY + Digest.sha256((rows + ":" + Long.toUnsignedString(sum)).getBytes(StandardCharsets.UTF_8))
                .hex().substring(0, 32);
    }

    private static String legacySchemaHash(Connection c) throws SQLException {
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
