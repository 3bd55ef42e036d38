package dev.backstop.postgres;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** A small application-like schema for tests: foreign keys, indexes, jsonb, bytea, numeric, timestamptz. */
public final class Shop {
    private Shop() {
    }

    /** Creates the schema in {@code c}'s database and fills it with {@code customers} customers (fixed seed). */
    public static void create(Connection c, int customers) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("SELECT setseed(0.42)");
            st.execute("CREATE SCHEMA shop");
            st.execute("CREATE TABLE shop.customer (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, "
                    + "profile jsonb NOT NULL, created timestamptz NOT NULL, score double precision)");
            st.execute("CREATE TABLE shop.product (id int PRIMARY KEY, name text NOT NULL, price numeric(12,2) NOT NULL "
                    + "CHECK (price >= 0), image bytea)");
            st.execute("CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES shop.customer, "
                    + "placed timestamptz NOT NULL, total numeric(14,2) NOT NULL, note text)");
            st.execute("CREATE TABLE shop.order_line (order_id bigint REFERENCES shop.orders ON DELETE CASCADE, "
                    + "line int, product_id int REFERENCES shop.product, qty int NOT NULL, PRIMARY KEY (order_id, line))");
            st.execute("CREATE INDEX orders_customer ON shop.orders (customer_id, placed DESC)");
            st.execute("CREATE INDEX customer_profile ON shop.customer USING gin (profile)");
            st.execute("CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE total > 500");
            st.execute("INSERT INTO shop.customer SELECT g, 'user' || g || '@example.com', "
                    + "jsonb_build_object('name', md5(g::text), 'tags', jsonb_build_array(g % 7, g % 11), 'vip', g % 13 = 0), "
                    + "timestamptz '2024-01-01 00:00:00+00' + g * interval '17 minutes', random() * 100 "
                    + "FROM generate_series(1, " + customers + ") g");
            st.execute("INSERT INTO shop.product SELECT g, 'product ' || g, (random() * 1000)::numeric(12,2), "
                    + "decode(md5(g::text) || md5((g * 3)::text), 'hex') FROM generate_series(1, 200) g");
            st.execute("INSERT INTO shop.orders SELECT g, 1 + (g * 7919) % " + customers + ", "
                    + "timestamptz '2025-01-01 00:00:00+00' + g * interval '3 minutes', (random() * 1000)::numeric(14,2), "
                    + "CASE WHEN g % 5 = 0 THEN NULL ELSE repeat('note ', g % 9) END FROM generate_series(1, " + customers * 3 + ") g");
            st.execute("INSERT INTO shop.order_line SELECT o, l, 1 + (o * l) % 200, 1 + (o + l) % 5 "
                    + "FROM generate_series(1, " + customers * 3 + ") o, generate_series(1, 3) l");
            st.execute("CREATE TABLE public.empty_table (id int)");
        }
    }
}
