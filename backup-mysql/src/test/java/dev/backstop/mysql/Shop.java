package dev.backstop.mysql;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/** An application-like MariaDB fixture: keys, JSON, BLOBs, exact-value traps, and every kind of schema object. */
final class Shop {
    private Shop() {
    }

    static void create(MariaDbInstance db, String database, int customers) throws SQLException {
        db.createDatabase(database);
        try (Connection c = db.connect(database); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE customer (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(60) NOT NULL, "
                    + "balance DECIMAL(12,2) NOT NULL, score DOUBLE, created TIMESTAMP(6) NOT NULL, note TEXT, "
                    + "KEY customer_name (name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
            st.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, "
                    + "total DECIMAL(10,3) NOT NULL, payload JSON, receipt BLOB, placed DATETIME(3), "
                    + "CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customer (id)) ENGINE=InnoDB");
            st.execute("CREATE TABLE exact (id INT PRIMARY KEY, d DECIMAL(6,2), s VARCHAR(10) COLLATE utf8mb4_general_ci, "
                    + "c CHAR(5), b VARBINARY(8), ts TIMESTAMP NULL, f FLOAT, bits BIT(5), u UUID, ip INET6) ENGINE=InnoDB");
            st.execute("CREATE TABLE empty_table (id INT PRIMARY KEY) ENGINE=InnoDB");
            st.execute("CREATE TABLE odd_shapes (id INT PRIMARY KEY, price DECIMAL(8,2), doubled DECIMAL(9,2) AS (price * 2) VIRTUAL, "
                    + "tripled DECIMAL(9,2) AS (price * 3) PERSISTENT, legacy VARCHAR(20) CHARACTER SET latin1, "
                    + "greek VARCHAR(20) CHARACTER SET greek) ENGINE=InnoDB PARTITION BY HASH (id) PARTITIONS 3");
            st.execute("INSERT INTO odd_shapes (id, price, legacy, greek) VALUES (1, 1.25, 'caf\u00e9 \u00e0 la carte', "
                    + "'\u03b1\u03b2\u03b3'), (2, NULL, NULL, ''), (3, 9.99, '\u00ff', NULL)");
            st.execute("CREATE SEQUENCE invoice_numbers START WITH 1000 INCREMENT BY 10");
            st.execute("SELECT NEXTVAL(invoice_numbers)");
            st.execute("INSERT INTO customer (name, balance, score, created, note) SELECT CONCAT('customer ', seq, "
                    // text beyond ASCII: two-, three- and four-byte UTF-8, and a quote and a backslash after them
                    + "IF(seq % 4 = 0, ' \u00e9\u4e2d\ud83d\ude00''\\\\', '')), "
                    + "seq * 1.25, seq / 7, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND, "
                    + "IF(seq % 3 = 0, NULL, REPEAT('note ', seq % 5)) FROM seq_1_to_" + customers);
            st.execute("INSERT INTO orders (customer_id, total, payload, receipt, placed) SELECT 1 + seq % " + customers + ", "
                    + "seq / 8, JSON_OBJECT('n', seq, 'items', JSON_ARRAY(seq, 'x')), UNHEX(SHA2(seq, 256)), "
                    + "TIMESTAMP'2024-02-01 00:00:00' + INTERVAL seq * 1001 MICROSECOND FROM seq_1_to_" + (customers * 3));
            st.execute("INSERT INTO exact VALUES (1, 1.50, 'a ', 'x', 0x00, '2024-03-31 01:30:00', 0.1, b'101', "
                    + "'123e4567-e89b-12d3-a456-426614174000', '::1'), (2, 1.5, 'a', '', '', NULL, -0e0, b'0', NULL, NULL), "
                    + "(3, NULL, '', NULL, NULL, '1970-01-01 00:00:01', 1e30, NULL, NULL, '::ffff:10.0.0.1')");
            st.execute("CREATE VIEW big_spenders AS SELECT c.id, c.name, SUM(o.total) AS spent FROM customer c "
                    + "JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.name");
            st.execute("CREATE VIEW top_spender AS SELECT * FROM big_spenders ORDER BY spent DESC LIMIT 1");
            st.execute("CREATE TRIGGER orders_total BEFORE INSERT ON orders FOR EACH ROW SET NEW.total = ROUND(NEW.total, 3)");
            st.execute("CREATE PROCEDURE add_customer(IN n VARCHAR(60)) INSERT INTO customer (name, balance, created) "
                    + "VALUES (n, 0, NOW())");
            st.execute("CREATE FUNCTION spent_by(cid INT) RETURNS DECIMAL(12,3) READS SQL DATA "
                    + "RETURN (SELECT COALESCE(SUM(total), 0) FROM orders WHERE customer_id = cid)");
            st.execute("CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00' DO DELETE FROM empty_table");
        }
    }
}
