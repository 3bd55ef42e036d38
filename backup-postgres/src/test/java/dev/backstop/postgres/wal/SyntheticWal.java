package dev.backstop.postgres.wal;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * WAL laid out as PostgreSQL lays it out (8 KiB pages with short/long headers, 8-byte aligned
 * records that run on across pages with XLP_FIRST_IS_CONTRECORD and xlp_rem_len), so the scanner
 * can be tested on boundaries a real server hits only by chance.
 */
final class SyntheticWal {
    static final int PAGE = CommitScanner.PAGE;
    static final Instant EPOCH = Instant.parse("2000-01-01T00:00:00Z");
    final long start;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private long pos;

    SyntheticWal(long start) {
        this.start = start;
        this.pos = start;
    }

    long position() {
        return pos;
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    /** A commit record with {@code time}; returns its end LSN. */
    long commit(Instant time) {
        return record(1, 0x00, commitData(time, 255));
    }

    /** A commit with a replication origin header and a long data header, as some commits are. */
    long commitWithOrigin(Instant time) {
        ByteBuffer b = ByteBuffer.allocate(3 + 5 + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 253).putShort((short) 7);
        b.put((byte) 254).putInt(16);
        b.putLong(ChronoUnit.MICROS.between(EPOCH, time)).putInt(0).putInt(0);
        return record(1, 0x00, b.array());
    }

    /** An abort record: it carries a time too, but is no commit. */
    long abort(Instant time) {
        return record(1, 0x20, commitData(time, 255));
    }

    /** A heap record with one block reference, {@code length} bytes in all. */
    long heap(int length) {
        byte[] body = new byte[length - 24];
        body[0] = 0; // block id 0
        for (int i = 1; i < body.length; i++) {
            body[i] = (byte) (i * 31);
        }
        return record(10, 0x00, body);
    }

    /** Pads with a heap record so the next record starts {@code before} bytes before the end of the current page. */
    void fillToPageEndMinus(int before) {
        long inPage = Long.remainderUnsigned(pos, PAGE);
        long target = PAGE - before;
        long len = target - inPage;
        if (len < 32) {
            len += PAGE - 24; // into the next page, past its short header
        }
        heap((int) len);
    }

    private static byte[] commitData(Instant time, int dataId) {
        ByteBuffer b = ByteBuffer.allocate(2 + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) dataId).put((byte) 16);
        b.putLong(ChronoUnit.MICROS.between(EPOCH, time)).putInt(0).putInt(0);
        return b.array();
    }

    private long record(int rmid, int info, byte[] body) {
        byte[] rec = new byte[24 + body.length];
        ByteBuffer h = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, rec.length);
        h.putInt(4, 1234);
        h.putLong(8, pos);
        h.put(16, (byte) info);
        h.put(17, (byte) rmid);
        System.arraycopy(body, 0, rec, 24, body.length);
        for (int i = 0; i < rec.length; i++) {
            if (Long.remainderUnsigned(pos, PAGE) == 0) {
                pageHeader(i > 0, i > 0 ? rec.length - i : 0);
            }
            out.write(rec[i]);
            pos++;
        }
        long end = pos;
        while ((pos & 7) != 0) {
            out.write(0);
            pos++;
        }
        if (Long.remainderUnsigned(pos, PAGE) == 0) {
            pageHeader(false, 0);
        }
        return end;
    }

    /** Zeros to the end of the current page, as after a segment switch. */
    void zerosToPageEnd() {
        while (Long.remainderUnsigned(pos, PAGE) != 0) {
            out.write(0);
            pos++;
        }
        pageHeader(false, 0);
    }

    private void pageHeader(boolean continued, int remLen) {
        boolean isLong = Long.remainderUnsigned(pos, WalFile.SEGMENT_BYTES) == 0;
        ByteBuffer h = ByteBuffer.allocate(isLong ? 40 : 24).order(ByteOrder.LITTLE_ENDIAN);
        h.putShort((short) 0xD110).putShort((short) ((continued ? 1 : 0) | (isLong ? 2 : 0))).putInt(1).putLong(pos).putInt(remLen);
        out.writeBytes(h.array());
        pos += h.capacity();
    }

    static Instant at(int seconds) {
        return Instant.parse("2026-01-02T03:04:05.123456Z").plus(Duration.ofSeconds(seconds));
    }

    /** Starts the stream: the long header of a segment start, or a short one. */
    SyntheticWal begin() {
        pageHeader(false, 0);
        return this;
    }
}
