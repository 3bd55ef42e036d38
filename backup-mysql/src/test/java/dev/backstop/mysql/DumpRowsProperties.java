package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.TableFingerprint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link DumpRows} against a reference: random tables of every kind of value, written the way
 * {@code mariadb-dump --hex-blob} writes them in every statement shape, cut at random places,
 * must give the fingerprints {@link RowHash} gives the values themselves, which is what {@link
 * MariaDbFingerprints} hashes on a server.
 */
class DumpRowsProperties {

    /** One value: null for NULL, else its canonical bytes, and how the dump writes it. */
    record Value(byte[] canonical, String literal) {
    }

    @Provide
    Arbitrary<Value> values() {
        Arbitrary<Value> nulls = Arbitraries.just(new Value(null, "NULL"));
        Arbitrary<Value> strings = Arbitraries.strings()
                .withChars("aZ '\"\\\0\n\r\t\u001a(),;`%_-0x\u00e9\u03b1\ud83d\ude00")
                .ofMaxLength(12)
                .map(s -> new Value(s.getBytes(StandardCharsets.UTF_8), "'" + escape(s) + "'"));
        // long runs between escapes, as in text and JSON: copied whole, not byte by byte
        Arbitrary<String> run = Arbitraries.strings().withCharRange('a', 'z').ofMinLength(17).ofMaxLength(50);
        Arbitrary<Value> longStrings = Combinators.combine(run, Arbitraries.of("'", "\"", "\\", "\n", "\u00e9"), run)
                .as((x, special, y) -> x + special + y)
                .map(s -> new Value(s.getBytes(StandardCharsets.UTF_8), "'" + escape(s) + "'"));
        // up to 40 bytes: 80 hex digits, several blocks of the eight-digit decoder and a remainder
        Arbitrary<Value> binaries = Arbitraries.bytes().array(byte[].class).ofMaxSize(40)
                .map(b -> new Value(b, b.length == 0 ? "''" : "0x" + HexFormat.of().withUpperCase().formatHex(b)));
        Arbitrary<Value> numbers = Arbitraries.of("0", "-0", "1.50", "1.5", "-12.345", "1e-300", "3.4e38", "2024",
                        "18446744073709551615", "0.000", "-1", "1.7976931348623157e308")
                .map(n -> new Value(n.getBytes(StandardCharsets.US_ASCII), n));
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(1, nulls), net.jqwik.api.Tuple.of(4, strings), net.jqwik.api.Tuple.of(1, longStrings),
                net.jqwik.api.Tuple.of(2, binaries), net.jqwik.api.Tuple.of(2, numbers));
    }

    /** A table: name, column count, rows. */
    record Table(String name, List<List<Value>> rows) {
    }

    @Provide
    Arbitrary<List<Table>> tables() {
        Arbitrary<String> names = Arbitraries.of("t", "order items", "a`b", "VALUES", "\u00e9t\u00e9", "INSERT INTO");
        Arbitrary<Table> table = Combinators.combine(names, Arbitraries.integers().between(1, 4),
                        Arbitraries.integers().between(0, 12))
                .flatAs((name, columns, rows) -> values().list().ofSize(columns).list().ofSize(rows)
                        .map(r -> new Table(name, r)));
        return table.list().ofMaxSize(4).uniqueElements(Table::name);
    }

    @Property(tries = 300, seed = "2330")
    void fingerprints_ofADumpInAnyShapeCutAnywhere_equalTheValuesRowHashes(@ForAll("tables") List<Table> tables,
            @ForAll("shapes") Shape shape, @ForAll long cutSeed) throws IOException {
        byte[] dump = dump(tables, shape).getBytes(StandardCharsets.UTF_8);

        assertThat(parse(dump, new Random(cutSeed))).isEqualTo(expected(tables));
    }

    @Provide
    Arbitrary<Shape> shapes() {
        return Arbitraries.of(Shape.class);
    }

    /** The statement shapes mariadb-dump writes with its options. */
    enum Shape {
        ROWS_ON_LINES, ROWS_ON_ONE_LINE, ONE_ROW_PER_STATEMENT, COLUMN_LIST, INSERT_IGNORE, REPLACE
    }

    @Property(tries = 2000, seed = "8008")
    void hex8_decodesEightHexDigitsOfEitherCase_andRefusesAnyOtherByte(
            @ForAll("eightHexish") List<Character> digits) {
        byte[] b = new byte[8];
        long expected = 0;
        boolean valid = true;
        for (int k = 0; k < 8; k++) {
            char c = digits.get(k);
            b[k] = (byte) c;
            int d = c < 0x80 ? Character.digit(c, 16) : -1;
            valid &= d >= 0;
            if (d >= 0) {
                expected |= (long) d << (k % 2 == 0 ? 4 : 0) << (8 * (k / 2));
            }
        }
        long w = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();

        assertThat(DumpRows.hex8(w)).isEqualTo(valid ? expected : -1);
    }

    @Provide
    Arbitrary<List<Character>> eightHexish() {
        // the digits, both cases, and the bytes just outside each range of them
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(12, Arbitraries.of('0', '5', '9', 'A', 'c', 'F', 'a', 'f', 'B', 'e', '1', '8')),
                net.jqwik.api.Tuple.of(1, Arbitraries.of('/', ':', '@', 'G', '`', 'g', ',', ')', '\0', '\u007f', '\u0080',
                        '\u00c1', '\u00e6', '\u00ff'))).list().ofSize(8);
    }

    @Example
    void aBadDigitAnywhereInALongHexLiteral_failsNamingIt() {
        String hex = "0123456789ABCDEFabcdef0123456789ABCDEF";
        for (int at = 0; at < hex.length(); at++) {
            String bad = hex.substring(0, at) + "G" + hex.substring(at + 1);
            byte[] dump = (head("a") + "INSERT INTO `a` VALUES (0x" + bad + ");\n").getBytes(StandardCharsets.UTF_8);

            assertThatThrownBy(() -> parse(dump, new Random(1))).isInstanceOf(IOException.class)
                    .hasMessageContaining("unexpected 'G'").hasMessageContaining("table `a`");
        }
    }

    @Example
    void aHexLiteral_inLowerCase_isTheSameBytesAsInUpperCase() throws IOException {
        String hex = "00ff10ab7f80c3e9deadbeef0102030405";
        Map<String, TableFingerprint> lower = parse((head("a") + "INSERT INTO `a` VALUES (0x" + hex + ");\n")
                .getBytes(StandardCharsets.UTF_8), new Random(1));
        Map<String, TableFingerprint> upper = parse((head("a") + "INSERT INTO `a` VALUES (0x" + hex.toUpperCase() + ");\n")
                .getBytes(StandardCharsets.UTF_8), new Random(1));

        assertThat(lower).isEqualTo(upper);
        assertThat(lower.get("a")).isEqualTo(new TableFingerprint(1,
                MariaDbFingerprints.contentHash(1, RowHash.of(HexFormat.of().parseHex(hex)))));
    }

    @Example
    void aChangedValue_changesOnlyItsTablesHash() throws IOException {
        String dump = head("a") + "INSERT INTO `a` VALUES (1,'x'),(2,'y');\n" + head("b") + "INSERT INTO `b` VALUES (1,'x');\n";
        Map<String, TableFingerprint> before = parse(dump.getBytes(StandardCharsets.UTF_8), new Random(1));
        Map<String, TableFingerprint> after = parse(dump.replace("(2,'y')", "(2,'z')").getBytes(StandardCharsets.UTF_8),
                new Random(1));

        assertThat(after.get("a").rows()).isEqualTo(2);
        assertThat(after.get("a").contentHash()).isNotEqualTo(before.get("a").contentHash());
        assertThat(after.get("b")).isEqualTo(before.get("b"));
    }

    @Example
    void rowsOrder_doesNotMatter_butDuplicatesDo() throws IOException {
        Map<String, TableFingerprint> one = parse((head("a") + "INSERT INTO `a` VALUES (1),(2);\n")
                .getBytes(StandardCharsets.UTF_8), new Random(1));
        Map<String, TableFingerprint> swapped = parse((head("a") + "INSERT INTO `a` VALUES (2),(1);\n")
                .getBytes(StandardCharsets.UTF_8), new Random(1));
        Map<String, TableFingerprint> doubled = parse((head("a") + "INSERT INTO `a` VALUES (1),(2),(2);\n")
                .getBytes(StandardCharsets.UTF_8), new Random(1));

        assertThat(swapped).isEqualTo(one);
        assertThat(doubled.get("a").contentHash()).isNotEqualTo(one.get("a").contentHash());
    }

    @Example
    void aTruncatedDump_failsNamingTheTable() {
        byte[] dump = (head("a") + "INSERT INTO `a` VALUES (1,'x'),(2,'y").getBytes(StandardCharsets.UTF_8);

        assertThatThrownBy(() -> parse(dump, new Random(1))).isInstanceOf(IOException.class)
                .hasMessageContaining("table `a`").hasMessageContaining("truncated");
    }

    @Example
    void somethingUnexpectedInARow_failsNamingTheTableAndTheOffset() {
        byte[] dump = (head("a") + "INSERT INTO `a` VALUES (1,x'00');\n").getBytes(StandardCharsets.UTF_8);

        assertThatThrownBy(() -> parse(dump, new Random(1))).isInstanceOf(IOException.class)
                .hasMessageContaining("unexpected 'x' at byte").hasMessageContaining("table `a`");
    }

    private static Map<String, TableFingerprint> parse(byte[] dump, Random cuts) throws IOException {
        DumpRows rows = new DumpRows();
        int at = 0;
        while (at < dump.length) {
            int n = Math.min(dump.length - at, cuts.nextInt(3) == 0 ? 1 : 1 + cuts.nextInt(40));
            byte[] piece = new byte[n + 2];
            System.arraycopy(dump, at, piece, 1, n);
            rows.write(piece, 1, n);
            at += n;
        }
        return rows.finish();
    }

    private static Map<String, TableFingerprint> expected(List<Table> tables) {
        Map<String, TableFingerprint> out = new TreeMap<>();
        for (Table t : tables) {
            long sum = 0;
            for (List<Value> row : t.rows()) {
                sum += RowHash.of(row.stream().map(Value::canonical).toArray(byte[][]::new));
            }
            out.put(t.name(), new TableFingerprint(t.rows().size(), MariaDbFingerprints.contentHash(t.rows().size(), sum)));
        }
        return out;
    }

    /** A dump with the noise a real one has around its rows: triggers, routines and views that mention INSERT. */
    private static String dump(List<Table> tables, Shape shape) {
        StringBuilder s = new StringBuilder("-- MariaDB dump 10.19\n--\n-- Host: localhost    Database: shop\n"
                + "/*!40101 SET NAMES utf8mb4 */;\n");
        for (Table t : tables) {
            String q = "`" + t.name().replace("`", "``") + "`";
            s.append("\n--\n-- Table structure for table ").append(q).append("\n--\n\nDROP TABLE IF EXISTS ").append(q)
                    .append(";\nCREATE TABLE ").append(q).append(" (\n  `a` int(11) DEFAULT NULL COMMENT 'INSERT INTO ")
                    .append(q).append(" VALUES (1)'\n) ENGINE=InnoDB;\n\n--\n-- Dumping data for table ").append(q)
                    .append("\n--\n\nLOCK TABLES ").append(q).append(" WRITE;\n/*!40000 ALTER TABLE ").append(q)
                    .append(" DISABLE KEYS */;\n");
            insert(s, q, t.rows(), shape);
            s.append("/*!40000 ALTER TABLE ").append(q).append(" ENABLE KEYS */;\nUNLOCK TABLES;\n")
                    .append("DELIMITER ;;\n/*!50003 CREATE*/ /*!50003 TRIGGER trg AFTER INSERT ON ").append(q)
                    .append(" FOR EACH ROW begin\nINSERT INTO ").append(q).append(" VALUES (1);\nend */;;\nDELIMITER ;\n");
        }
        s.append("\n--\n-- Temporary table structure for view `v`\n--\n\n/*!50001 CREATE VIEW `v` AS SELECT\n 1 AS `x` */;\n")
                .append("\n--\n-- Dumping routines for database 'shop'\n--\nDELIMITER ;;\nCREATE PROCEDURE `p`()\nbegin\n")
                .append("INSERT INTO `t` VALUES (99);\nend\n;;\nDELIMITER ;\n")
                .append("/*!50001 VIEW `v` AS select 'INSERT INTO `t` VALUES (' AS `x` */;\n-- Dump completed\n");
        return s.toString();
    }

    private static void insert(StringBuilder s, String q, List<List<Value>> rows, Shape shape) {
        if (rows.isEmpty()) {
            return;
        }
        String verb = switch (shape) {
            case INSERT_IGNORE -> "INSERT IGNORE INTO ";
            case REPLACE -> "REPLACE INTO ";
            default -> "INSERT INTO ";
        };
        StringBuilder columns = new StringBuilder();
        if (shape == Shape.COLUMN_LIST) {
            columns.append(" (");
            for (int i = 0; i < rows.get(0).size(); i++) {
                columns.append(i == 0 ? "" : ", ").append("`c(").append(i).append(") VALUES`");
            }
            columns.append(")");
        }
        String start = verb + q + columns + " VALUES";
        if (shape == Shape.ONE_ROW_PER_STATEMENT) {
            for (List<Value> row : rows) {
                s.append(start).append(' ').append(tuple(row)).append(";\n");
            }
            return;
        }
        List<String> tuples = new ArrayList<>();
        for (List<Value> row : rows) {
            tuples.add(tuple(row));
        }
        s.append(start).append(shape == Shape.ROWS_ON_ONE_LINE ? " " : "\n")
                .append(String.join(shape == Shape.ROWS_ON_ONE_LINE ? "," : ",\n", tuples)).append(";\n");
    }

    private static String tuple(List<Value> row) {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < row.size(); i++) {
            s.append(i == 0 ? "" : ",").append(row.get(i).literal());
        }
        return s.append(')').toString();
    }

    private static String head(String table) {
        return "--\n-- Table structure for table `" + table + "`\n--\n\n--\n-- Dumping data for table `" + table + "`\n--\n\n";
    }

    /** As the client library's mysql_real_escape_string, which mariadb-dump uses for string values. */
    private static String escape(String v) {
        StringBuilder s = new StringBuilder();
        for (char c : v.toCharArray()) {
            switch (c) {
                case 0 -> s.append("\\0");
                case '\n' -> s.append("\\n");
                case '\r' -> s.append("\\r");
                case '\\' -> s.append("\\\\");
                case '\'' -> s.append("\\'");
                case '"' -> s.append("\\\"");
                case '\u001a' -> s.append("\\Z");
                default -> s.append(c);
            }
        }
        return s.toString();
    }
}
