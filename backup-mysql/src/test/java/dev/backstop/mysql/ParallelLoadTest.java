package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.util.List;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ParallelLoadTest {
    @TempDir
    Path tmp;

    private static final String HEAD = "/*!40101 SET NAMES utf8mb4 */;\n-- CHANGE MASTER TO MASTER_LOG_FILE='b.1', MASTER_LOG_POS=4;\n";
    private static final String T1 = "--\n-- Table structure for table `a`\n--\nCREATE TABLE `a` (id int);\nINSERT INTO `a` VALUES\n(1),\n(2);\n";
    private static final String T2 = "-- Table structure for table `b`\nCREATE TABLE `b` (id int);\nDELIMITER ;;\n"
            + "CREATE TRIGGER t BEFORE INSERT ON b FOR EACH ROW BEGIN\n-- Table structure for table `fake`\nSET @x = 1;\nEND ;;\n"
            + "DELIMITER ;\n";
    private static final String T3 = "-- Temporary table structure for view `v`\nCREATE VIEW `v` AS SELECT 1 AS `id`;\n";
    private static final String TAIL = "-- Dumping routines for database 'shop'\nDELIMITER ;;\nCREATE PROCEDURE p()\n"
            + "-- Table structure for table `nope`\nSELECT 1 ;;\nDELIMITER ;\n-- Final view structure for view `v`\n/*!40101 SET X=@OLD */;\n";

    /** Sessions that are {@code cat} processes writing what they receive to files. */
    private final class Cats implements ParallelLoad.Sessions {
        final List<Path> files = new ArrayList<>();

        @Override
        public Process start() throws IOException {
            Path f = tmp.resolve("session-" + files.size() + ".sql");
            files.add(f);
            return new ProcessBuilder("cat").redirectOutput(f.toFile()).start();
        }

        @Override
        public void finish(Process p, String what) throws IOException {
            try {
                int exit = p.waitFor();
                if (exit != 0) {
                    throw new IOException("cat exited " + exit + " in " + what);
                }
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
        }
    }

    @Test
    void run_givesEverySessionTheHead_eachTableWhole_andTheTailLast_ignoringMarkersInsideDelimitedBodies() throws Exception {
        String dump = HEAD + T1 + T2 + T3 + TAIL;
        Cats cats = new Cats();

        long n = new ParallelLoad(cats, 2, tmp, DaemonThreads.numbered("test-load")).run(new ByteArrayInputStream(dump.getBytes(StandardCharsets.UTF_8)));

        assertThat(n).isEqualTo(dump.getBytes(StandardCharsets.UTF_8).length);
        assertThat(cats.files).hasSize(3);
        String s0 = Files.readString(cats.files.get(0));
        String s1 = Files.readString(cats.files.get(1));
        String s2 = Files.readString(cats.files.get(2));
        // the comment line before the first section's marker belongs to the head
        String head = HEAD + "--\n";
        assertThat(s0).startsWith(head);
        assertThat(s1).startsWith(head);
        String tables = s0.substring(head.length()) + s1.substring(head.length());
        assertThat(tables).contains(T1.substring(3)).contains(T2).contains(T3);
        assertThat(tables).hasSize(T1.length() - 3 + T2.length() + T3.length());
        assertThat(s2).isEqualTo(HEAD + "--\n" + TAIL);
    }

    @Test
    void run_feedsEachSessionOnAThreadOfTheGivenFactory() throws Exception {
        Cats cats = new Cats();
        AtomicInteger made = new AtomicInteger();
        DaemonThreads threads = DaemonThreads.numbered("test-load");
        ThreadFactory counting = task -> {
            made.incrementAndGet();
            return threads.newThread(task);
        };
        new ParallelLoad(cats, 3, tmp, counting).run(new ByteArrayInputStream(HEAD.getBytes(StandardCharsets.UTF_8)));
        assertThat(made.get()).isEqualTo(3);
    }

    @Test
    void run_ofADumpWithoutTables_loadsTheHeadOnly() throws Exception {
        Cats cats = new Cats();
        new ParallelLoad(cats, 3, tmp, DaemonThreads.numbered("test-load")).run(new ByteArrayInputStream(HEAD.getBytes(StandardCharsets.UTF_8)));
        assertThat(cats.files).hasSize(3);
        for (Path f : cats.files) {
            assertThat(Files.readString(f)).isEqualTo(HEAD);
        }
    }

    @Test
    void run_whenASessionFails_failsNamingIt() {
        ParallelLoad.Sessions failing = new ParallelLoad.Sessions() {
            @Override
            public Process start() throws IOException {
                return new ProcessBuilder("sh", "-c", "exit 3").start();
            }

            @Override
            public void finish(Process p, String what) throws IOException {
                try {
                    int exit = p.waitFor();
                    if (exit != 0) {
                        throw new IOException("client exited " + exit + " in " + what);
                    }
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
        };
        StringBuilder big = new StringBuilder(HEAD).append("-- Table structure for table `a`\n");
        for (int i = 0; i < 200_000; i++) {
            big.append("(").append(i).append(",'some row text'),\n");
        }
        assertThatThrownBy(() -> new ParallelLoad(failing, 2, tmp, DaemonThreads.numbered("test-load"))
                .run(new ByteArrayInputStream(big.toString().getBytes(StandardCharsets.UTF_8))))
                .isInstanceOf(IOException.class).hasMessageContaining("exited 3 in load session");
    }

    private static final String ORDERS = "CREATE TABLE `orders` (\n"
            + "  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n"
            + "  `customer_id` int(11) NOT NULL,\n"
            + "  `placed` datetime(3) NOT NULL,\n"
            + "  PRIMARY KEY (`id`),\n"
            + "  UNIQUE KEY `orders_ref` (`customer_id`,`placed`),\n"
            + "  KEY `orders_placed` (`placed`),\n"
            + "  CONSTRAINT `orders_total` CHECK (`id` > 0),\n"
            + "  CONSTRAINT `orders_customer` FOREIGN KEY (`customer_id`) REFERENCES `customer` (`id`)\n"
            + ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n";

    @Test
    void deferral_takesSecondaryKeysAndForeignKeysOut_keepingChecksAndThePrimaryKey() {
        Deferral d = Deferral.of(ORDERS);

        assertThat(d.create()).isEqualTo("CREATE TABLE `orders` (\n"
                + "  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n"
                + "  `customer_id` int(11) NOT NULL,\n"
                + "  `placed` datetime(3) NOT NULL,\n"
                + "  PRIMARY KEY (`id`),\n"
                + "  CONSTRAINT `orders_total` CHECK (`id` > 0)\n"
                + ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n");
        assertThat(d.deferred().alter(d.deferred().keys)).isEqualTo(
                "ALTER TABLE `orders` ADD UNIQUE KEY `orders_ref` (`customer_id`,`placed`), ADD KEY `orders_placed` (`placed`);\n");
        assertThat(d.deferred().alter(d.deferred().foreignKeys)).isEqualTo(
                "ALTER TABLE `orders` ADD CONSTRAINT `orders_customer` FOREIGN KEY (`customer_id`) REFERENCES `customer` (`id`);\n");
    }

    @Test
    void deferral_leavesTablesWithoutPrimaryKey_partitioned_orNotInnoDb_asTheyAre() {
        String noPrimary = "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  UNIQUE KEY `a` (`a`)\n) ENGINE=InnoDB;\n";
        String partitioned = "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  PRIMARY KEY (`a`),\n  KEY `k` (`a`)\n) ENGINE=InnoDB\n"
                + " PARTITION BY HASH (`a`)\nPARTITIONS 3;\n";
        String aria = "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  PRIMARY KEY (`a`),\n  KEY `k` (`a`)\n) ENGINE=Aria;\n";
        String autoInKeyOnly = "CREATE TABLE `t` (\n  `a` int(11) NOT NULL,\n  `n` int(11) NOT NULL AUTO_INCREMENT,\n"
                + "  PRIMARY KEY (`a`),\n  KEY `n` (`n`)\n) ENGINE=InnoDB;\n";

        for (String s : List.of(noPrimary, partitioned, aria, autoInKeyOnly)) {
            Deferral d = Deferral.of(s);
            assertThat(d.create()).isEqualTo(s);
            assertThat(d.deferred()).isNull();
        }
    }

    @Test
    void run_sendsTheIndexesAndThenTheForeignKeys_afterEveryTableIsLoaded() throws Exception {
        String dump = HEAD + "-- Table structure for table `orders`\n" + ORDERS + "INSERT INTO `orders` VALUES (1,1,NOW());\n" + T1;
        Cats cats = new Cats();

        new ParallelLoad(cats, 2, tmp, DaemonThreads.numbered("test-load")).run(new ByteArrayInputStream(dump.getBytes(StandardCharsets.UTF_8)));

        // two load sessions, one index session (one table has keys), one foreign key session
        assertThat(cats.files).hasSize(4);
        String loads = Files.readString(cats.files.get(0)) + Files.readString(cats.files.get(1));
        assertThat(loads).contains("INSERT INTO `orders`").doesNotContain("KEY `orders_placed`", "FOREIGN KEY");
        assertThat(Files.readString(cats.files.get(2))).isEqualTo(HEAD
                + "ALTER TABLE `orders` ADD UNIQUE KEY `orders_ref` (`customer_id`,`placed`), ADD KEY `orders_placed` (`placed`);\n");
        assertThat(Files.readString(cats.files.get(3))).isEqualTo(HEAD
                + "ALTER TABLE `orders` ADD CONSTRAINT `orders_customer` FOREIGN KEY (`customer_id`) REFERENCES `customer` (`id`);\n");
    }

    private static final String BIG_HEAD = "--\n-- Table structure for table `big`\n--\n\nDROP TABLE IF EXISTS `big`;\n"
            + "/*!40101 SET @saved_cs_client     = @@character_set_client */;\n/*!40101 SET character_set_client = utf8 */;\n"
            + "CREATE TABLE `big` (\n  `id` int(11) NOT NULL,\n  `v` text,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
            + "/*!40101 SET character_set_client = @saved_cs_client */;\n\n--\n-- Dumping data for table `big`\n--\n\n"
            + "LOCK TABLES `big` WRITE;\n/*!40000 ALTER TABLE `big` DISABLE KEYS */;\n";
    private static final String BIG_AFTER = "/*!40000 ALTER TABLE `big` ENABLE KEYS */;\nUNLOCK TABLES;\nDELIMITER ;;\n"
            + "CREATE TRIGGER big_v BEFORE INSERT ON big FOR EACH ROW SET NEW.v = UPPER(NEW.v) ;;\nDELIMITER ;\n";

    @Test
    void run_spreadsAnInnoDbTablesRowsOverTheSessions_eachCreatingTheTableIfMissingFirst_andCreatesTriggersAfterEveryRow() throws Exception {
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            rows.add("INSERT INTO `big` VALUES (" + i + ",'" + "x".repeat(ParallelLoad.CHUNK + 1000) + "');\n");
        }
        String dump = HEAD + BIG_HEAD + String.join("", rows) + BIG_AFTER + T1.substring(3);
        Cats cats = new Cats();

        new ParallelLoad(cats, 2, tmp, DaemonThreads.numbered("test-load")).run(new ByteArrayInputStream(dump.getBytes(StandardCharsets.UTF_8)));

        // two load sessions and the one creating the trigger once both are done
        assertThat(cats.files).hasSize(3);
        List<String> loaded = new ArrayList<>();
        String both = "";
        for (Path f : cats.files.subList(0, 2)) {
            String s = Files.readString(f);
            both += s;
            assertThat(s).doesNotContain("DROP TABLE", "LOCK TABLES `big` WRITE", "CREATE TRIGGER");
            int create = s.indexOf("CREATE TABLE IF NOT EXISTS `big` (\n");
            int charsetBack = s.indexOf("SET character_set_client = @saved_cs_client");
            assertThat(create).as("the table is created in this session before its rows").isPositive();
            assertThat(charsetBack).isGreaterThan(create).isLessThan(s.indexOf("INSERT INTO `big`"));
            for (String line : s.split("(?<=\n)")) {
                if (line.startsWith("INSERT INTO `big`")) {
                    loaded.add(line);
                }
            }
        }
        assertThat(loaded).containsExactlyInAnyOrderElementsOf(rows);
        assertThat(both).contains(T1.substring(3));
        assertThat(Files.readString(cats.files.get(2))).isEqualTo(HEAD + "--\n" + BIG_AFTER.substring(BIG_AFTER.indexOf("DELIMITER")));
    }

    @Test
    void run_keepsANonInnoDbTableWhole_inOrder_inOneSession() throws Exception {
        String aria = BIG_HEAD.replace("ENGINE=InnoDB", "ENGINE=Aria");
        String rows = "INSERT INTO `big` VALUES (1,'a');\nINSERT INTO `big` VALUES (2,'b');\n";
        String dump = HEAD + aria + rows + BIG_AFTER;
        Cats cats = new Cats();

        new ParallelLoad(cats, 2, tmp, DaemonThreads.numbered("test-load")).run(new ByteArrayInputStream(dump.getBytes(StandardCharsets.UTF_8)));

        assertThat(cats.files).hasSize(2);
        String both = Files.readString(cats.files.get(0)) + Files.readString(cats.files.get(1));
        assertThat(both).contains(aria.substring(3) + rows + BIG_AFTER);
    }
}
