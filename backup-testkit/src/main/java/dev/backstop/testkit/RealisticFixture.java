package dev.backstop.testkit;

import dev.backstop.core.DataSize;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Objects;

/**
 * An application-like sample database of a chosen size: customers, products, orders, order
 * lines, events and documents, tied by foreign keys, with secondary and GIN indexes and a view;
 * text, jsonb, bytea, numeric and timestamptz columns. Compresses like real data (about 3× as
 * SQL with zstd-3), unlike pgbench's tables.
 *
 * <p><b>Guarantees.</b> Deterministic: the same size gives byte-identical rows (values derive
 * from hashes of row numbers, not from {@code random()}). Generated inside the server with
 * {@code INSERT ... SELECT}, so loading costs no client bandwidth. The database size lands
 * within about ±30% of the target
 * (databases under ~12 MiB come out at ~12 MiB: the catalogue and an empty database take ~10 MiB).
 *
 * <p><b>Restrictions.</b> Creates schema {@code app} in the connected database, which must not
 * have one. Needs auto-commit on.
 */
public final class RealisticFixture {
    /** Bytes of database (heap, TOAST and indexes) per customer, measured on PostgreSQL 15. */
    static final long BYTES_PER_CUSTOMER = 3900;
    /** An empty database plus the fixed product catalogue, measured on PostgreSQL 15. */
    static final long FIXED_BYTES = 10L * 1024 * 1024;
    private static final int PRODUCTS = 5000;
    private static final String WORDS = "ARRAY['account','billing','shipping','express','return','warranty','premium',"
            + "'standard','gift','wrap','coupon','discount','north','south','east','west','red','blue','green','black',"
            + "'white','small','medium','large','cotton','steel','wooden','glass','organic','fresh','classic','modern',"
            + "'delivery','pickup','store','online','mobile','desktop','review','rating','support','ticket','refund',"
            + "'invoice','payment','card','transfer','wallet','loyalty','points','order','cart','checkout','session',"
            + "'search','filter','category','brand','vendor','supplier','stock','warehouse','pallet','parcel']::text[]";

    private final DataSize size;

    private RealisticFixture(DataSize size) {
        this.size = size;
    }

    /** A fixture of about {@code size} (at least 1 MiB). */
    public static RealisticFixture ofSize(DataSize size) {
        Objects.requireNonNull(size, "size");
        if (size.bytes() < DataSize.ofMiB(1).bytes()) {
            throw new IllegalArgumentException("size: got " + size + ", must be at least 1 MiB");
        }
        return new RealisticFixture(size);
    }

    /** How many customers the target size needs; every other table scales with it. */
    public long customers() {
        return Math.max(100, (size.bytes() - FIXED_BYTES) / BYTES_PER_CUSTOMER);
    }

    /** Creates and fills schema {@code app} in {@code c}'s database; returns the database size in bytes. */
    public long load(Connection c) throws SQLException {
        long n = customers();
        String w = WORDS;
        // pick(k) = a word chosen by a hash of the row number and k
        String g = "g";
        List<String> ddl = List.of(
                "CREATE SCHEMA app",
                "CREATE TABLE app.customer (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL, "
                        + "country char(2) NOT NULL, created_at timestamptz NOT NULL, profile jsonb NOT NULL)",
                "CREATE TABLE app.product (id int PRIMARY KEY, sku text NOT NULL UNIQUE, title text NOT NULL, "
                        + "description text, price numeric(10,2) NOT NULL CHECK (price >= 0), attributes jsonb, thumbnail bytea)",
                "CREATE TABLE app.orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES app.customer, "
                        + "status text NOT NULL, placed_at timestamptz NOT NULL, total numeric(12,2) NOT NULL, shipping jsonb)",
                "CREATE TABLE app.order_item (order_id bigint NOT NULL REFERENCES app.orders ON DELETE CASCADE, line int NOT NULL, "
                        + "product_id int NOT NULL REFERENCES app.product, quantity int NOT NULL, unit_price numeric(10,2) NOT NULL, "
                        + "PRIMARY KEY (order_id, line))",
                "CREATE TABLE app.event (id bigint PRIMARY KEY, customer_id bigint REFERENCES app.customer, kind text NOT NULL, "
                        + "at timestamptz NOT NULL, payload jsonb NOT NULL)",
                "CREATE TABLE app.document (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES app.customer, "
                        + "filename text NOT NULL, content bytea NOT NULL)");
        List<String> data = List.of(
                "INSERT INTO app.product SELECT g, 'SKU-' || lpad(g::text, 7, '0'), "
                        + pick(w, g, 1) + " || ' ' || " + pick(w, g, 2) + " || ' ' || " + pick(w, g, 3) + ", "
                        + "array_to_string(ARRAY(SELECT " + pick(w, "g * 40 + i", 4) + " FROM generate_series(1, 40) i), ' '), "
                        + "(abs(hashint8(g * 5)) % 100000) / 100.0, "
                        + "jsonb_build_object('color', " + pick(w, g, 5) + ", 'weight_g', abs(hashint8(g * 6)) % 5000, "
                        + "'tags', jsonb_build_array(" + pick(w, g, 7) + ", " + pick(w, g, 8) + ")), "
                        + "decode(repeat(md5(g::text), 16), 'hex') FROM generate_series(1, " + PRODUCTS + ") g",
                "INSERT INTO app.customer SELECT g, 'customer' || g || '@' || " + pick(w, g, 9) + " || '.example', "
                        + "initcap(" + pick(w, g, 10) + ") || ' ' || initcap(" + pick(w, g, 11) + "), "
                        + "(ARRAY['DE','FR','US','GB','JP','BR','IN','SE'])[1 + abs(hashint8(g * 12)) % 8], "
                        + "timestamptz '2020-01-01 00:00:00+00' + (abs(hashint8(g * 13)) % 157680000) * interval '1 second', "
                        + "jsonb_build_object('newsletter', g % 3 = 0, 'segment', " + pick(w, g, 14) + ", 'lifetime_value', "
                        + "(abs(hashint8(g * 15)) % 1000000) / 100.0, 'preferences', jsonb_build_object('language', "
                        + "(ARRAY['de','fr','en','ja','pt'])[1 + abs(hashint8(g * 16)) % 5], 'channel', " + pick(w, g, 17) + ")) "
                        + "FROM generate_series(1, " + n + ") g",
                "INSERT INTO app.orders SELECT g, 1 + abs(hashint8(g * 18)) % " + n + ", "
                        + "(ARRAY['placed','paid','shipped','delivered','returned'])[1 + abs(hashint8(g * 19)) % 5], "
                        + "timestamptz '2023-01-01 00:00:00+00' + g * interval '7 seconds', (abs(hashint8(g * 20)) % 5000000) / 100.0, "
                        + "jsonb_build_object('carrier', " + pick(w, g, 21) + ", 'street', md5(g::text), 'zip', "
                        + "lpad((abs(hashint8(g * 22)) % 99999)::text, 5, '0'), 'express', g % 4 = 0) "
                        + "FROM generate_series(1, " + (n * 3) + ") g",
                "INSERT INTO app.order_item SELECT o, l, 1 + abs(hashint8(o * 10 + l)) % " + PRODUCTS + ", "
                        + "1 + abs(hashint8(o * 10 + l + 1)) % 4, (abs(hashint8(o * 10 + l + 2)) % 20000) / 100.0 "
                        + "FROM generate_series(1, " + (n * 3) + ") o, generate_series(1, 3) l",
                "INSERT INTO app.event SELECT g, 1 + abs(hashint8(g * 23)) % " + n + ", "
                        + "(ARRAY['login','view','search','add_to_cart','checkout','logout'])[1 + abs(hashint8(g * 24)) % 6], "
                        + "timestamptz '2024-01-01 00:00:00+00' + g * interval '3 seconds', "
                        + "jsonb_build_object('ip', '10.' || (abs(hashint8(g * 25)) % 256) || '.' || (abs(hashint8(g * 26)) % 256) "
                        + "|| '.1', 'agent', " + pick(w, g, 27) + " || '/' || (abs(hashint8(g * 28)) % 100), 'query', "
                        + pick(w, g, 29) + " || ' ' || " + pick(w, g, 30) + ", 'session', md5((g / 10)::text)) "
                        + "FROM generate_series(1, " + (n * 6) + ") g",
                // documents: mostly incompressible content, as scanned files and images are
                "INSERT INTO app.document SELECT g, 1 + abs(hashint8(g * 31)) % " + n + ", "
                        + pick(w, g, 32) + " || '-' || g || '.pdf', "
                        + "decode(string_agg(md5(g::text || ':' || i), '' ORDER BY i), 'hex') "
                        + "FROM generate_series(1, " + Math.max(1, n / 20) + ") g, generate_series(1, 256) i GROUP BY g");
        List<String> post = List.of(
                "CREATE INDEX orders_customer ON app.orders (customer_id, placed_at DESC)",
                "CREATE INDEX order_item_product ON app.order_item (product_id)",
                "CREATE INDEX event_customer_at ON app.event (customer_id, at)",
                "CREATE INDEX customer_profile ON app.customer USING gin (profile jsonb_path_ops)",
                "CREATE INDEX document_customer ON app.document (customer_id)",
                "CREATE VIEW app.revenue_by_country AS SELECT c.country, sum(o.total) AS revenue, count(*) AS orders "
                        + "FROM app.orders o JOIN app.customer c ON c.id = o.customer_id GROUP BY c.country",
                "ANALYZE");
        try (Statement st = c.createStatement()) {
            for (String s : ddl) {
                st.execute(s);
            }
            for (String s : data) {
                st.execute(s);
            }
            for (String s : post) {
                st.execute(s);
            }
            try (ResultSet rs = st.executeQuery("SELECT pg_database_size(current_database())")) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static String pick(String words, String row, int k) {
        return "(" + words + ")[1 + abs(hashint8((" + row + ") * 131 + " + k + ")) % 64]";
    }

    @Override
    public String toString() {
        return "RealisticFixture[" + size + ", " + customers() + " customers]";
    }
}
