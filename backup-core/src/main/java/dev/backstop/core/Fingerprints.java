package dev.backstop.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a restore must reproduce exactly: a hash of the schema, per table (qualified name) the row
 * count and a content hash, and per schema object a short proof. Taken inside the same snapshot as
 * the dump.
 *
 * <p>{@code objects} maps {@code "<kind> <name>"} (for example {@code "trigger public.orders.audit_trg"})
 * to the object's proof: one or more fields separated by single spaces, each either
 * {@code attribute:hash} (compared by hash; a difference reads "attribute differs") or
 * {@code attribute=value} (a literal without spaces; a difference shows both values). Fingerprints
 * recorded before per-object proofs existed have no objects and only the opaque
 * {@link #schemaHash()}, which is then compared instead.
 */
public record Fingerprints(String schemaHash, Map<String, TableFingerprint> tables, Map<String, String> objects) {

    public Fingerprints {
        Objects.requireNonNull(schemaHash, "schemaHash");
        tables = Map.copyOf(tables);
        objects = Map.copyOf(objects);
    }

    /** Fingerprints without per-object proofs, as recorded by older versions. */
    public Fingerprints(String schemaHash, Map<String, TableFingerprint> tables) {
        this(schemaHash, tables, Map.of());
    }

    /**
     * The differences between these (expected) and {@code actual}, one sentence each naming the
     * object or table, what was expected and what was found; empty when they are equal. With
     * per-object proofs the schema is compared object by object, otherwise by its hash.
     */
    public List<String> differencesFrom(Fingerprints actual) {
        List<String> out = new ArrayList<>();
        if (objects.isEmpty()) {
            if (!schemaHash.equals(actual.schemaHash)) {
                out.add("schema: expected hash " + schemaHash + ", found " + actual.schemaHash);
            }
        } else {
            TreeSet<String> keys = new TreeSet<>(objects.keySet());
            keys.addAll(actual.objects.keySet());
            for (String key : keys) {
                String e = objects.get(key);
                String a = actual.objects.get(key);
                if (a == null) {
                    out.add(key + ": missing");
                } else if (e == null) {
                    out.add(key + ": not in the backup");
                } else if (!e.equals(a)) {
                    out.add(key + ": " + fieldDifferences(e, a));
                }
            }
        }
        TreeSet<String> names = new TreeSet<>(tables.keySet());
        names.addAll(actual.tables.keySet());
        for (String name : names) {
            TableFingerprint e = tables.get(name);
            TableFingerprint a = actual.tables.get(name);
            if (a == null) {
                out.add("table " + name + ": expected " + e.rows() + " rows, table is missing");
            } else if (e == null) {
                out.add("table " + name + ": not in the backup, found " + a.rows() + " rows");
            } else if (e.rows() != a.rows()) {
                out.add("table " + name + ": expected " + e.rows() + " rows, found " + a.rows());
            } else if (!e.contentHash().equals(a.contentHash())) {
                out.add("table " + name + ": expected content hash " + e.contentHash() + ", found " + a.contentHash());
            }
        }
        return out;
    }

    private static String fieldDifferences(String expected, String actual) {
        Map<String, String> e = fields(expected);
        Map<String, String> a = fields(actual);
        TreeSet<String> names = new TreeSet<>(e.keySet());
        names.addAll(a.keySet());
        List<String> parts = new ArrayList<>();
        for (String name : names) {
            String ev = e.get(name);
            String av = a.get(name);
            if (Objects.equals(ev, av)) {
                continue;
            }
            boolean literal = (ev != null && ev.startsWith("=")) || (av != null && av.startsWith("="));
            if (literal) {
                parts.add("expected " + name + " " + shown(ev) + ", found " + shown(av));
            } else {
                parts.add(name + " differs");
            }
        }
        return parts.isEmpty() ? "definition differs" : String.join(", ", parts);
    }

    private static String shown(String v) {
        return v == null ? "none" : v.substring(1);
    }

    /** Field name to its marker and value ({@code ":hash"} or {@code "=literal"}). */
    private static Map<String, String> fields(String proof) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String f : proof.split(" ")) {
            int colon = f.indexOf(':');
            int eq = f.indexOf('=');
            int at = colon < 0 ? eq : eq < 0 ? colon : Math.min(colon, eq);
            if (at < 0) {
                out.put(f, ":");
            } else {
                out.put(f.substring(0, at), f.substring(at));
            }
        }
        return out;
    }

    /** Total rows over all tables. */
    public long totalRows() {
        return tables.values().stream().mapToLong(TableFingerprint::rows).sum();
    }

    /** Tables sorted by name, for stable output. */
    public Map<String, TableFingerprint> sortedTables() {
        return new TreeMap<>(tables);
    }

    /** Objects sorted by key, for stable output. */
    public Map<String, String> sortedObjects() {
        return new TreeMap<>(objects);
    }
}
