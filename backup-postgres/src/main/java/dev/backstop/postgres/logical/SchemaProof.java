package dev.backstop.postgres.logical;

import dev.backstop.core.Digest;
import dev.backstop.postgres.internal.CopyHashTap;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The schema half of {@link PgFingerprints}: one proof per object of the user schemas, keyed
 * {@code "<kind> <schema>.<name>"} with names unquoted, as {@link dev.backstop.core.Fingerprints#objects()}
 * describes. Every attribute is read through the catalogs' own deparsing functions
 * ({@code pg_get_functiondef}, {@code pg_get_triggerdef}, ...) under an empty search_path, so names
 * come out schema-qualified and no OID enters a proof: a faithful restore into another server
 * yields the same proofs. Attributes worth reading in a report (a sequence's position, a table's
 * persistence, NOT NULL) are literal, the others hashed to {@value #HASH_CHARS} hex characters;
 * an absent attribute (no comment, no default) is left out.
 */
final class SchemaProof {
    static final int HASH_CHARS = 16;
    /** Fields that name roles; {@link PgFingerprints#withoutOwnership} removes them. */
    static final List<String> OWNERSHIP_FIELDS = List.of("owner", "acl");
    static final String ROLE = "role ";

    private static final String USER_SCHEMAS = "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'";

    private SchemaProof() {
    }

    /** Objects not created by an extension: pg_dump leaves those to CREATE EXTENSION. */
    private static String notExtension(String catalog, String oid) {
        return "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog." + catalog
                + "'::pg_catalog.regclass AND d.objid = " + oid + " AND d.deptype = 'e')";
    }

    /** An ACL as sorted items, the default ACL standing in for NULL: equal grants read equal whatever their history. */
    private static String acl(String column, String kind, String owner) {
        return "(SELECT pg_catalog.string_agg(x::text, ',' ORDER BY x::text) FROM pg_catalog.unnest(COALESCE("
                + column + ", pg_catalog.acldefault('" + kind + "', " + owner + "))) x)";
    }

    /** A collation's qualified name, or NULL for none. */
    private static String collation(String oid) {
        return "(SELECT co.collnamespace::pg_catalog.regnamespace::text || '.' || co.collname FROM pg_catalog.pg_collation co "
                + "WHERE co.oid = " + oid + ")";
    }

    private static String qualified(String schema, String name) {
        return schema + " || '.' || " + name;
    }

    /** Takes the proofs inside the caller's transaction; the session's settings must already be pinned. */
    static Map<String, String> take(Connection c) throws SQLException {
        int major = c.getMetaData().getDatabaseMajorVersion();
        Map<String, String> out = new TreeMap<>();
        String rel = "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE "
                + USER_SCHEMAS + " AND " + notExtension("pg_class", "c.oid") + " AND c.relpersistence <> 't'";

        collect(c, out, "SELECT 'schema', n.nspname, "
                + "CASE WHEN n.nspname = 'public' AND (n.nspowner = 10 OR n.nspowner::pg_catalog.regrole::text = 'pg_database_owner') "
                + "THEN NULL ELSE n.nspowner::pg_catalog.regrole::text END, " + acl("n.nspacl", "n", "n.nspowner")
                + ", pg_catalog.obj_description(n.oid, 'pg_namespace') FROM pg_catalog.pg_namespace n WHERE " + USER_SCHEMAS
                + " AND " + notExtension("pg_namespace", "n.oid"), ":owner", ":acl", ":comment");

        collect(c, out, "SELECT CASE c.relkind WHEN 'f' THEN 'foreign table' ELSE 'table' END, " + qualified("n.nspname", "c.relname")
                + ", CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE 'permanent' END, "
                + "CASE WHEN c.relrowsecurity THEN 'on' ELSE 'off' END, CASE WHEN c.relforcerowsecurity THEN 'on' ELSE 'off' END, "
                + (major >= 10 ? "pg_catalog.pg_get_partkeydef(c.oid), pg_catalog.pg_get_expr(c.relpartbound, c.oid), "
                        : "NULL, NULL, ")
                + "(SELECT pg_catalog.string_agg(p.oid::pg_catalog.regclass::text, ',' ORDER BY i.inhseqno) "
                + "FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid), "
                + "c.reloptions::text, c.relreplident::text, pg_catalog.obj_description(c.oid, 'pg_class'), "
                + "c.relowner::pg_catalog.regrole::text, " + acl("c.relacl", "r", "c.relowner") + ", "
                + (major >= 10 ? "(SELECT pn.nspname || '.' || p.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p "
                        + "ON p.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace "
                        + "WHERE c.relispartition AND i.inhrelid = c.oid) " : "NULL ")
                + rel + " AND c.relkind IN ('r', 'p', 'f')",
                "=persistence", "=row_security", "=force_row_security", ":partition_key", ":partition_bound", ":inherits",
                ":options", ":replica_identity", ":comment", ":owner", ":acl", "=partition_of");

        collect(c, out, "SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, "
                + qualified("n.nspname", "c.relname") + ", pg_catalog.pg_get_viewdef(c.oid, true), c.reloptions::text, "
                + "pg_catalog.obj_description(c.oid, 'pg_class'), c.relowner::pg_catalog.regrole::text, "
                + acl("c.relacl", "r", "c.relowner") + " " + rel + " AND c.relkind IN ('v', 'm')",
                ":definition", ":options", ":comment", ":owner", ":acl");

        String generated = major >= 12 ? "a.attgenerated" : "''";
        collect(c, out, "SELECT 'column', " + qualified("n.nspname", "c.relname") + " || '.' || a.attname, "
                + "pg_catalog.row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), "
                + "pg_catalog.format_type(a.atttypid, a.atttypmod), "
                + "CASE WHEN a.attcollation <> t.typcollation THEN " + collation("a.attcollation") + " END, a.attnotnull::text, "
                + "CASE WHEN " + generated + " = '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END, "
                + "CASE WHEN " + generated + " <> '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END, "
                + "CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by_default' END, "
                + "NULLIF(a.attstorage, t.typstorage)::text, pg_catalog.col_description(c.oid, a.attnum), "
                + "(SELECT pg_catalog.string_agg(x::text, ',' ORDER BY x::text) FROM pg_catalog.unnest(a.attacl) x) "
                + "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
                + "LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
                + "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relpersistence <> 't' "
                + "AND " + USER_SCHEMAS + " AND " + notExtension("pg_class", "c.oid"),
                "=position", ":type", ":collation", "=not_null", ":default", ":generated", "=identity", ":storage",
                ":comment", ":acl");

        collect(c, out, "SELECT 'constraint', " + qualified("n.nspname", "c.relname") + " || '.' || co.conname, "
                + "pg_catalog.pg_get_constraintdef(co.oid, true), pg_catalog.obj_description(co.oid, 'pg_constraint'), "
                + "(SELECT rn.nspname || '.' || r.relname FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace rn "
                + "ON rn.oid = r.relnamespace WHERE co.contype = 'f' AND r.oid = co.confrelid) "
                + "FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class c ON c.oid = co.conrelid "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE " + USER_SCHEMAS + " AND "
                + notExtension("pg_class", "c.oid"), ":definition", ":comment", "=references");

        collect(c, out, "SELECT 'index', " + qualified("n.nspname", "i.relname") + ", pg_catalog.pg_get_indexdef(x.indexrelid), "
                + "x.indisclustered::text, pg_catalog.obj_description(i.oid, 'pg_class') "
                + "FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid "
                + "JOIN pg_catalog.pg_class c ON c.oid = x.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace "
                + "WHERE " + USER_SCHEMAS + " AND " + notExtension("pg_class", "c.oid") + " AND c.relpersistence <> 't'",
                ":definition", "=clustered", ":comment");

        collect(c, out, "SELECT 'trigger', " + qualified("n.nspname", "c.relname") + " || '.' || tg.tgname, "
                + "pg_catalog.pg_get_triggerdef(tg.oid, true), tg.tgenabled::text, pg_catalog.obj_description(tg.oid, 'pg_trigger') "
                + "FROM pg_catalog.pg_trigger tg JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE NOT tg.tgisinternal AND " + USER_SCHEMAS
                + " AND " + notExtension("pg_class", "c.oid"), ":definition", "=enabled", ":comment");

        collect(c, out, "SELECT 'rule', " + qualified("n.nspname", "c.relname") + " || '.' || r.rulename, "
                + "pg_catalog.pg_get_ruledef(r.oid, true), r.ev_enabled::text, pg_catalog.obj_description(r.oid, 'pg_rewrite') "
                + "FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE r.rulename <> '_RETURN' AND " + USER_SCHEMAS
                + " AND " + notExtension("pg_class", "c.oid"), ":definition", "=enabled", ":comment");

        collect(c, out, "SELECT 'policy', " + qualified("n.nspname", "c.relname") + " || '.' || p.polname, "
                + "p.polcmd::text || ' ' || " + (major >= 10 ? "p.polpermissive::text" : "'true'") + " || ' ' || "
                + "COALESCE(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') || ' ' || "
                + "COALESCE(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), ''), "
                + "(SELECT pg_catalog.string_agg(x.name, ',' ORDER BY x.name) FROM (SELECT CASE WHEN r = 0 THEN 'public' "
                + "ELSE r::pg_catalog.regrole::text END FROM pg_catalog.unnest(p.polroles) r) x(name)), pg_catalog.obj_description(p.oid, 'pg_policy') "
                + "FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE " + USER_SCHEMAS + " AND "
                + notExtension("pg_class", "c.oid"), ":definition", ":roles", ":comment");

        String kind = major >= 11 ? "p.prokind" : "CASE WHEN p.proisagg THEN 'a' WHEN p.proiswindow THEN 'w' ELSE 'f' END";
        collect(c, out, "SELECT CASE " + kind + " WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END, "
                + qualified("n.nspname", "p.proname") + " || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', "
                + "CASE WHEN " + kind + " = 'a' THEN (SELECT pg_catalog.concat_ws(' ', ag.aggtransfn::text, ag.aggfinalfn::text, "
                + "ag.aggcombinefn::text, ag.aggtranstype::pg_catalog.regtype::text, ag.agginitval, ag.aggsortop::pg_catalog.regoperator::text, "
                + "ag.aggkind::text) FROM pg_catalog.pg_aggregate ag WHERE ag.aggfnoid = p.oid) "
                + "ELSE pg_catalog.pg_get_functiondef(p.oid) END, pg_catalog.obj_description(p.oid, 'pg_proc'), "
                + "p.proowner::pg_catalog.regrole::text, " + acl("p.proacl", "f", "p.proowner") + " "
                + "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE " + USER_SCHEMAS
                + " AND " + notExtension("pg_proc", "p.oid"), ":definition", ":comment", ":owner", ":acl");

        collect(c, out, "SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, " + qualified("n.nspname", "t.typname") + ", "
                + "CASE t.typtype "
                + "WHEN 'e' THEN (SELECT 'enum ' || pg_catalog.string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) "
                + "FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) "
                + "WHEN 'c' THEN (SELECT 'composite ' || pg_catalog.string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) "
                + "|| ' ' || COALESCE(" + collation("a.attcollation") + ", ''), ',' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a "
                + "WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) "
                + "WHEN 'r' THEN (SELECT pg_catalog.concat_ws(' ', 'range', rg.rngsubtype::pg_catalog.regtype::text, "
                + collation("rg.rngcollation") + ", rg.rngcanonical::text, rg.rngsubdiff::text) "
                + "FROM pg_catalog.pg_range rg WHERE rg.rngtypid = t.oid) "
                + "WHEN 'd' THEN pg_catalog.concat_ws(' ', pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull::text, "
                + collation("t.typcollation") + ", t.typdefault, (SELECT pg_catalog.string_agg(co.conname || ' ' "
                + "|| pg_catalog.pg_get_constraintdef(co.oid, true), ',' ORDER BY co.conname) FROM pg_catalog.pg_constraint co "
                + "WHERE co.contypid = t.oid)) "
                + "ELSE pg_catalog.concat_ws(' ', t.typinput::text, t.typoutput::text, t.typreceive::text, t.typsend::text, "
                + "t.typlen::text, t.typalign::text, t.typstorage::text) END, pg_catalog.obj_description(t.oid, 'pg_type'), "
                + "t.typowner::pg_catalog.regrole::text, " + acl("t.typacl", "T", "t.typowner") + " "
                + "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE " + USER_SCHEMAS
                + " AND " + notExtension("pg_type", "t.oid") + " AND t.typtype IN ('b', 'c', 'd', 'e', 'r') "
                + "AND (t.typrelid = 0 OR (SELECT r.relkind FROM pg_catalog.pg_class r WHERE r.oid = t.typrelid) = 'c') "
                + "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type el WHERE el.typarray = t.oid)",
                ":definition", ":comment", ":owner", ":acl");

        collect(c, out, "SELECT 'sequence', " + qualified("n.nspname", "c.relname") + ", "
                + "pg_catalog.concat_ws(' ', s.seqtypid::pg_catalog.regtype::text, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, "
                + "s.seqcache, s.seqcycle, (SELECT dc.oid::pg_catalog.regclass::text || '.' || da.attname FROM pg_catalog.pg_depend d "
                + "JOIN pg_catalog.pg_class dc ON dc.oid = d.refobjid JOIN pg_catalog.pg_attribute da ON da.attrelid = d.refobjid "
                + "AND da.attnum = d.refobjsubid WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid "
                + "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i'))), "
                + "CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE 'permanent' END, "
                + "pg_catalog.obj_description(c.oid, 'pg_class'), c.relowner::pg_catalog.regrole::text, "
                + acl("c.relacl", "s", "c.relowner") + " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                + "JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid WHERE " + USER_SCHEMAS + " AND "
                + notExtension("pg_class", "c.oid") + " AND c.relpersistence <> 't'",
                ":definition", "=persistence", ":comment", ":owner", ":acl");
        sequencePositions(c, out);

        if (major >= 10) {
            collect(c, out, "SELECT 'statistics', " + qualified("n.nspname", "s.stxname") + ", "
                    + "pg_catalog.pg_get_statisticsobjdef(s.oid), s.stxowner::pg_catalog.regrole::text "
                    + "FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace WHERE "
                    + USER_SCHEMAS + " AND " + notExtension("pg_statistic_ext", "s.oid"), ":definition", ":owner");
            collect(c, out, "SELECT 'publication', p.pubname, (pg_catalog.to_jsonb(p) - 'oid' - 'pubname' - 'pubowner')::text "
                    + "|| ' ' || COALESCE((SELECT pg_catalog.string_agg(pt.schemaname || '.' || pt.tablename, ',' "
                    + "ORDER BY pt.schemaname, pt.tablename) FROM pg_catalog.pg_publication_tables pt WHERE pt.pubname = p.pubname), ''), "
                    + "p.pubowner::pg_catalog.regrole::text FROM pg_catalog.pg_publication p", ":definition", ":owner");
        }
        collect(c, out, "SELECT 'extension', e.extname, e.extversion, e.extnamespace::pg_catalog.regnamespace::text "
                + "FROM pg_catalog.pg_extension e", "=version", ":schema");

        for (String role : roles(c)) {
            out.put(ROLE + role, "referenced=true");
        }
        return out;
    }

    /**
     * Roles the schema refers to (owners, grantees and grantors, policy targets), which a restore
     * with owners and privileges needs to exist. Built-in roles ({@code pg_*}) and PUBLIC are left out.
     */
    private static List<String> roles(Connection c) throws SQLException {
        String sql = "WITH refs(r) AS ("
                + "SELECT c.relowner FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE " + USER_SCHEMAS
                + " UNION SELECT (pg_catalog.aclexplode(c.relacl)).grantee FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE " + USER_SCHEMAS
                + " UNION SELECT (pg_catalog.aclexplode(c.relacl)).grantor FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE " + USER_SCHEMAS
                + " UNION SELECT (pg_catalog.aclexplode(a.attacl)).grantee FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE a.attacl IS NOT NULL AND " + USER_SCHEMAS
                + " UNION SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE " + USER_SCHEMAS
                + " UNION SELECT (pg_catalog.aclexplode(n.nspacl)).grantee FROM pg_catalog.pg_namespace n WHERE " + USER_SCHEMAS
                + " UNION SELECT (pg_catalog.aclexplode(n.nspacl)).grantor FROM pg_catalog.pg_namespace n WHERE " + USER_SCHEMAS
                + " UNION SELECT p.proowner FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE " + USER_SCHEMAS
                + " UNION SELECT (pg_catalog.aclexplode(p.proacl)).grantee FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE " + USER_SCHEMAS
                + " UNION SELECT t.typowner FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE " + USER_SCHEMAS
                + " UNION SELECT (pg_catalog.aclexplode(t.typacl)).grantee FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE " + USER_SCHEMAS
                + " UNION SELECT pg_catalog.unnest(p.polroles) FROM pg_catalog.pg_policy p"
                + ") SELECT r.rolname FROM pg_catalog.pg_roles r JOIN refs ON refs.r = r.oid "
                + "WHERE r.rolname NOT LIKE 'pg\\_%' ORDER BY 1";
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /**
     * Adds each sequence's position as literals, read from the sequences themselves in batches
     * (no catalog holds it: {@code pg_sequence_last_value} hides the value of a sequence not yet called).
     */
    private static void sequencePositions(Connection c, Map<String, String> out) throws SQLException {
        List<String[]> seqs = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT " + qualified("n.nspname", "c.relname")
                + ", pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
                + "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND c.relpersistence <> 't' AND "
                + USER_SCHEMAS + " AND " + notExtension("pg_class", "c.oid") + " ORDER BY 1")) {
            while (rs.next()) {
                seqs.add(new String[] {rs.getString(1), rs.getString(2)});
            }
        }
        for (int from = 0; from < seqs.size(); from += 200) {
            List<String[]> batch = seqs.subList(from, Math.min(seqs.size(), from + 200));
            StringBuilder sql = new StringBuilder();
            for (int i = 0; i < batch.size(); i++) {
                sql.append(i == 0 ? "" : " UNION ALL ").append("SELECT ").append(i).append(", last_value::text, is_called::text FROM ")
                        .append(batch.get(i)[1]);
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.toString())) {
                while (rs.next()) {
                    String key = "sequence " + batch.get(rs.getInt(1))[0];
                    String proof = out.get(key);
                    if (proof != null) {
                        out.put(key, proof + " last_value=" + rs.getString(2) + " is_called=" + rs.getString(3));
                    }
                }
            }
        }
    }

    /**
     * {@code proofs} with the position fields of the sequences in {@code positions} (keyed
     * {@code schema.name}) replaced by those values.
     */
    static Map<String, String> withSequencePositions(Map<String, String> proofs,
                                                     Map<String, CopyHashTap.SequencePosition> positions) {
        Map<String, String> out = new TreeMap<>(proofs);
        positions.forEach((name, p) -> {
            String key = "sequence " + name;
            String proof = out.get(key);
            if (proof != null) {
                StringBuilder kept = new StringBuilder();
                for (String f : proof.split(" ")) {
                    if (!f.startsWith("last_value=") && !f.startsWith("is_called=")) {
                        kept.append(kept.length() == 0 ? "" : " ").append(f);
                    }
                }
                out.put(key, kept + " last_value=" + p.lastValue() + " is_called=" + p.isCalled());
            }
        });
        return out;
    }

    /**
     * Runs {@code sql}, whose rows are (kind, name, attribute values...), and adds one proof per
     * row; {@code fields} name the attributes in order, {@code =name} literal, {@code :name} hashed.
     */
    private static void collect(Connection c, Map<String, String> out, String sql, String... fields) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                StringBuilder proof = new StringBuilder();
                for (int i = 0; i < fields.length; i++) {
                    String v = rs.getString(i + 3);
                    if (v == null) {
                        continue;
                    }
                    String field = fields[i];
                    proof.append(proof.length() == 0 ? "" : " ").append(field, 1, field.length());
                    if (field.charAt(0) == '=') {
                        proof.append('=').append(literal(v));
                    } else {
                        proof.append(':').append(hash(v));
                    }
                }
                out.put(rs.getString(1) + " " + rs.getString(2), proof.length() == 0 ? "exists=true" : proof.toString());
            }
        }
    }

    /** Literals are short words and numbers; anything else that could break the field syntax is percent-escaped. */
    private static String literal(String v) {
        StringBuilder b = new StringBuilder();
        for (char ch : v.toCharArray()) {
            if (ch == ' ' || ch == '%' || ch < 0x20) {
                b.append('%').append(HexFormat.of().toHexDigits((byte) ch));
            } else {
                b.append(ch);
            }
        }
        return b.toString();
    }

    /** The value of literal field {@code name} in {@code proof}, unescaped, or null. */
    static String literalField(String proof, String name) {
        for (String f : proof.split(" ")) {
            if (f.startsWith(name + "=")) {
                String v = f.substring(name.length() + 1);
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < v.length(); i++) {
                    char ch = v.charAt(i);
                    if (ch == '%' && i + 2 < v.length()) {
                        b.append((char) Integer.parseInt(v.substring(i + 1, i + 3), 16));
                        i += 2;
                    } else {
                        b.append(ch);
                    }
                }
                return b.toString();
            }
        }
        return null;
    }

    static String hash(String v) {
        return Digest.sha256(v.getBytes(StandardCharsets.UTF_8)).hex().substring(0, HASH_CHARS);
    }

    /** The schema hash of fingerprints that carry proofs: a SHA-256 over every proof, in key order. */
    static String schemaHash(Map<String, String> proofs) {
        StringBuilder all = new StringBuilder();
        new TreeMap<>(proofs).forEach((k, v) -> all.append(k.length()).append(':').append(k).append('=').append(v).append('\n'));
        return "sha256:" + Digest.sha256(all.toString().getBytes(StandardCharsets.UTF_8)).hex();
    }

    /** Roles named by {@code proofs}. */
    static TreeSet<String> roleNames(Map<String, String> proofs) {
        TreeSet<String> out = new TreeSet<>();
        for (String k : proofs.keySet()) {
            if (k.startsWith(ROLE)) {
                out.add(k.substring(ROLE.length()));
            }
        }
        return out;
    }
}
