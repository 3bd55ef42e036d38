package dev.backstop.mysql.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BinlogScanTest {
    static final int SERVER = 7;

    @TempDir
    Path tmp;

    /** Writes MariaDB binlog events with CRC32 checksums (zeros: the scan does not verify them). */
    static final class Binlog {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Binlog() {
            out.writeBytes(new byte[] {(byte) 0xfe, 'b', 'i', 'n'});
            byte[] fde = new byte[2 + 50 + 4 + 1 + 1];
            fde[0] = 4;
            fde[56] = 19;
            fde[57] = 1; // checksum algorithm: CRC32
            event(15, 100, fde);
        }

        long position() {
            return out.size();
        }

        Binlog event(int type, long timestamp, byte[] body) {
            int length = 19 + body.length + 4;
            long next = out.size() + length;
            out.writeBytes(le(timestamp, 4));
            out.write(type);
            out.writeBytes(le(SERVER, 4));
            out.writeBytes(le(length, 4));
            out.writeBytes(le(next, 4));
            out.writeBytes(le(0, 2));
            out.writeBytes(body);
            out.writeBytes(new byte[4]);
            return this;
        }

        Binlog gtidList(Gtid... gtids) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(le(gtids.length, 4));
            for (Gtid g : gtids) {
                b.writeBytes(le(g.domain(), 4));
                b.writeBytes(le(g.server(), 4));
                b.writeBytes(le(g.sequence(), 8));
            }
            return event(163, 100, b.toByteArray());
        }

        Binlog gtid(long timestamp, long seq, boolean standalone) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(le(seq, 8));
            b.writeBytes(le(0, 4));
            b.write(standalone ? 1 : 0);
            return event(162, timestamp, b.toByteArray());
        }

        Binlog query(long timestamp, String sql) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(le(1, 4));
            b.writeBytes(le(0, 4));
            b.write(4);
            b.writeBytes(le(0, 2));
            b.writeBytes(le(0, 2));
            b.writeBytes("shop".getBytes(StandardCharsets.US_ASCII));
            b.write(0);
            b.writeBytes(sql.getBytes(StandardCharsets.UTF_8));
            return event(2, timestamp, b.toByteArray());
        }

        Binlog rows(long timestamp, int size) {
            return event(23, timestamp, new byte[size]);
        }

        Binlog xid(long timestamp) {
            return event(16, timestamp, new byte[8]);
        }

        Path write(Path file) throws Exception {
            Files.write(file, out.toByteArray());
            return file;
        }

        static byte[] le(long v, int n) {
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = (byte) (v >>> (8 * i));
            }
            return b;
        }
    }

    static List<BinlogScan.Group> groups(Path file, long probe, List<BinlogScan.Result> result) throws Exception {
        List<BinlogScan.Group> out = new ArrayList<>();
        result.add(BinlogScan.scan(file, file.getFileName().toString(), probe, g -> out.add(g)));
        return out;
    }

    @Test
    void scan_reportsEachTransactionAndDdl_withItsGtidByteRangeAndTime() throws Exception {
        Binlog b = new Binlog().gtidList(new Gtid(0, SERVER, 5));
        long t1 = b.position();
        b.gtid(200, 6, false).query(200, "BEGIN").rows(200, 5000).xid(201);
        long t2 = b.position();
        b.gtid(205, 7, true).query(205, "CREATE TABLE t (id INT)");
        long t3 = b.position();
        b.gtid(210, 8, false).query(210, "BEGIN").query(210, "INSERT INTO a VALUES (1)").query(211, " commit ");
        long end = b.position();
        List<BinlogScan.Result> r = new ArrayList<>();

        List<BinlogScan.Group> gs = groups(b.write(tmp.resolve("binlog.000001")), t2, r);

        assertThat(gs).containsExactly(new BinlogScan.Group(new Gtid(0, SERVER, 6), t1, t2, 200),
                new BinlogScan.Group(new Gtid(0, SERVER, 7), t2, t3, 205),
                new BinlogScan.Group(new Gtid(0, SERVER, 8), t3, end, 210));
        assertThat(r.get(0).serverId()).isEqualTo(SERVER);
        assertThat(r.get(0).gtidList()).containsExactly(new Gtid(0, SERVER, 5));
        assertThat(r.get(0).eventsEnd()).isEqualTo(end);
        assertThat(r.get(0).boundary()).isTrue();
    }

    @Test
    void scan_ofAFileCutInsideAnEvent_endsAtTheLastCompleteEvent_withoutTheUnfinishedTransaction() throws Exception {
        Binlog b = new Binlog();
        b.gtid(200, 1, false).query(200, "BEGIN").xid(200);
        long complete = b.position();
        b.gtid(201, 2, false).query(201, "BEGIN");
        long cutAfter = b.position();
        b.rows(201, 300).xid(201);
        byte[] whole = b.out.toByteArray();
        Path cut = tmp.resolve("binlog.000002");
        Files.write(cut, Arrays.copyOf(whole, (int) cutAfter + 100));
        List<BinlogScan.Result> r = new ArrayList<>();

        List<BinlogScan.Group> gs = groups(cut, complete + 3, r);

        assertThat(gs).extracting(g -> g.gtid().sequence()).containsExactly(1L);
        assertThat(gs.get(0).end()).isEqualTo(complete);
        assertThat(r.get(0).eventsEnd()).isEqualTo(cutAfter);
        assertThat(r.get(0).boundary()).isFalse();
    }

    @Test
    void scan_stopsWhenTheVisitorSaysSo() throws Exception {
        Binlog b = new Binlog();
        for (int i = 1; i <= 5; i++) {
            b.gtid(200 + i, i, false).query(200 + i, "BEGIN").xid(200 + i);
        }
        List<Long> seen = new ArrayList<>();

        BinlogScan.scan(b.write(tmp.resolve("binlog.000003")), "binlog.000003", 4, g -> {
            seen.add(g.gtid().sequence());
            return g.gtid().sequence() < 3;
        });

        assertThat(seen).containsExactly(1L, 2L, 3L);
    }

    @Test
    void scan_ofAFileWithoutTheBinlogMagic_isRefusedNamingIt() throws Exception {
        Path f = tmp.resolve("binlog.000004");
        Files.writeString(f, "not a binlog");

        assertThatThrownBy(() -> BinlogScan.scan(f, "binlog.000004", 4, g -> true))
                .hasMessageContaining("binlog binlog.000004 at offset 0: no binlog magic");
    }

    @Test
    void gtid_parsesAndPrintsDomainServerSequence_andRefusesOtherText() {
        assertThat(Gtid.parse("0-1-42")).isEqualTo(new Gtid(0, 1, 42));
        assertThat(Gtid.parse("0-1-42")).hasToString("0-1-42");
        assertThat(Gtid.parsePosition("1-2-3,0-1-42")).containsOnlyKeys(1L, 0L);
        assertThat(Gtid.format(Gtid.parsePosition("1-2-3,0-1-42"))).isEqualTo("0-1-42,1-2-3");
        assertThat(Gtid.parsePosition("")).isEmpty();
        assertThatThrownBy(() -> Gtid.parse("0-1")).hasMessageContaining("got '0-1', need domain-server-sequence");
        assertThatThrownBy(() -> Gtid.parsePosition("0-1-2,0-2-3")).hasMessageContaining("domain 0 appears twice");
    }

    @Test
    void targets_validateTheirValues_andTimeIsTruncatedToTheSecond() {
        assertThat(RecoveryTarget.before(java.time.Instant.parse("2026-12-07T10:42:17.875Z")))
                .isEqualTo(new RecoveryTarget.BeforeTime(java.time.Instant.parse("2026-12-07T10:42:17Z")));
        assertThatThrownBy(() -> RecoveryTarget.position("binlog.000001", 3)).hasMessageContaining("at least 4");
        assertThatThrownBy(() -> RecoveryTarget.position("not a binlog", 4)).hasMessageContaining("binlog file name");
        assertThatThrownBy(() -> RecoveryTarget.gtid("latest")).hasMessageContaining("domain-server-sequence");
    }
}
