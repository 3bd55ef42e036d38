package dev.backstop.mysql;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DumpCommentsTest {

    @Test
    void position_ofAMariaDbHead_isTheCommentedChangeMaster() {
        byte[] head = ("-- MariaDB dump 10.19\n-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;\n\n"
                + "-- CHANGE MASTER TO MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=1732;\n").getBytes(StandardCharsets.UTF_8);
        assertThat(DumpComments.position(head, head.length)).contains(new DumpComments.Position("binlog.000001", 1732));
    }

    @Test
    void position_ofAMySqlHead_isTheCommentedChangeReplicationSource() {
        byte[] head = "-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='mysql-bin.000003', SOURCE_LOG_POS=157;\n"
                .getBytes(StandardCharsets.UTF_8);
        assertThat(DumpComments.position(head, head.length)).contains(new DumpComments.Position("mysql-bin.000003", 157));
    }

    @Test
    void position_ofAnIncompleteLine_isNotYetKnown() {
        byte[] head = "-- CHANGE MASTER TO MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=17".getBytes(StandardCharsets.UTF_8);
        assertThat(DumpComments.position(head, head.length)).isEmpty();
    }

    @Test
    void gtid_ofMariaDbAndMySqlTails_isTheCommentedPosition() {
        assertThat(DumpComments.gtid("x\n-- SET GLOBAL gtid_slave_pos='0-7-11,1-2-3';\n")).contains("0-7-11,1-2-3");
        assertThat(DumpComments.gtid("-- SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a1b2:1-5';\n")).contains("a1b2:1-5");
        assertThat(DumpComments.gtid("-- Dump completed\n")).isEmpty();
    }

    @Test
    void tail_keepsTheLastBytesInOrder_acrossWrapsAndLargeWrites() {
        DumpComments.Tail t = new DumpComments.Tail(8);
        t.write("abc".getBytes(StandardCharsets.UTF_8), 0, 3);
        assertThat(t.text()).isEqualTo("abc");
        t.write("defghij".getBytes(StandardCharsets.UTF_8), 0, 7);
        assertThat(t.text()).isEqualTo("cdefghij");
        t.write("0123456789XY".getBytes(StandardCharsets.UTF_8), 2, 10);
        assertThat(t.text()).isEqualTo("456789XY");
        t.write("z".getBytes(StandardCharsets.UTF_8), 0, 1);
        assertThat(t.text()).isEqualTo("56789XYz");
    }
}
