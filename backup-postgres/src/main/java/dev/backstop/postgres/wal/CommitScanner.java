package dev.backstop.postgres.wal;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * Finds the commit records in a stream of WAL bytes and reports each one's end LSN and commit
 * time ({@code xl_xact_commit.xact_time}), without buffering more than one record header.
 *
 * <p>Why parse WAL rather than ask the server: the commit time is in every commit record, so it
 * works on any server and any setting, for WAL the receiver streamed and for files handed to
 * {@code archive_command} alike; {@code pg_last_committed_xact()} needs {@code
 * track_commit_timestamp=on} and a second connection, and says nothing about what is archived.
 *
 * <p>The layout read is PostgreSQL's (10 and later, little-endian, 8 KiB pages): every page starts
 * with a header ({@code XLogPageHeaderData}, 24 bytes, or 40 at a segment start) whose {@code
 * xlp_rem_len} says how much of a record continued from the previous page; records ({@code
 * XLogRecord}, 24-byte header with {@code xl_tot_len}) are 8-byte aligned and may cross pages.
 * A commit is resource manager 1 ({@code RM_XACT_ID}) with operation {@code XLOG_XACT_COMMIT} or
 * {@code XLOG_XACT_COMMIT_PREPARED}; its main data starts with the commit time in microseconds
 * since 2000-01-01. Bytes that do not parse (a page whose address is not where it lies, a zero
 * length) make the scanner skip to the next page and find its footing from that page's header,
 * so garbage yields no commits rather than an exception.
 */
final class CommitScanner {
    static final int PAGE = 8192;
    private static final int SHORT_HEADER = 24;
    private static final int LONG_HEADER = 40;
    private static final int XLP_FIRST_IS_CONTRECORD = 0x0001;
    private static final int XLP_LONG_HEADER = 0x0002;
    private static final int RECORD_HEADER = 24;
    private static final int KEPT = 64;
    private static final int RM_XACT_ID = 1;
    private static final int XLOG_XACT_OPMASK = 0x70;
    private static final int XLOG_XACT_COMMIT = 0x00;
    private static final int XLOG_XACT_COMMIT_PREPARED = 0x30;
    private static final Instant POSTGRES_EPOCH = Instant.parse("2000-01-01T00:00:00Z");

    /** Hears of each commit record, in WAL order. */
    interface Listener {
        void commit(long endLsn, Instant commitTime);
    }

    private enum State { LOST, RECORD, SKIP, ALIGN }

    private final Listener listener;
    private long lsn;
    private State state = State.LOST;
    private final byte[] page = new byte[LONG_HEADER];
    private int pageHeaderLen;
    private boolean inPageHeader;
    private final byte[] record = new byte[KEPT];
    private int recordLen;
    private long totalLen;
    private long skip;
    private boolean commitPending;
    private Instant commitTime;

    /** A scanner for bytes starting at {@code startLsn}; it finds its footing at the next page header. */
    CommitScanner(long startLsn, Listener listener) {
        this.lsn = startLsn;
        this.listener = listener;
    }

    /** Scans all of {@code buf} (which starts where the previous call ended) without moving its position. */
    void feed(ByteBuffer buf) {
        ByteBuffer b = buf.duplicate();
        while (b.hasRemaining()) {
            int inPage = (int) Long.remainderUnsigned(lsn, PAGE);
            if (inPage == 0 && !inPageHeader) {
                inPageHeader = true;
                pageHeaderLen = 0;
            }
            if (inPageHeader) {
                page[pageHeaderLen++] = b.get();
                lsn++;
                boolean isLong = pageHeaderLen >= 4 && (le16(page, 2) & XLP_LONG_HEADER) != 0;
                if (pageHeaderLen == (isLong ? LONG_HEADER : SHORT_HEADER)) {
                    inPageHeader = false;
                    pageHeader();
                }
                continue;
            }
            switch (state) {
                case LOST -> {
                    // skip to the next page boundary
                    int n = Math.min(b.remaining(), PAGE - inPage);
                    b.position(b.position() + n);
                    lsn += n;
                }
                case RECORD -> {
                    record[recordLen++] = b.get();
                    lsn++;
                    if (recordLen == 4) {
                        totalLen = Integer.toUnsignedLong(le32(record, 0));
                        if (totalLen < RECORD_HEADER) {
                            state = State.LOST;
                            recordLen = 0;
                            continue;
                        }
                    }
                    if (recordLen >= 4 && recordLen == Math.min(totalLen, KEPT)) {
                        inspect();
                        skip = totalLen - recordLen;
                        state = State.SKIP;
                        if (skip == 0) {
                            recordDone();
                        }
                    }
                }
                case SKIP -> {
                    int n = (int) Math.min(Math.min(b.remaining(), PAGE - inPage), skip);
                    b.position(b.position() + n);
                    lsn += n;
                    skip -= n;
                    if (skip == 0) {
                        recordDone();
                    }
                }
                case ALIGN -> {
                    int n = (int) Math.min(b.remaining(), (8 - (lsn & 7)) & 7);
                    b.position(b.position() + n);
                    lsn += n;
                    if ((lsn & 7) == 0) {
                        startRecord();
                    }
                }
            }
        }
    }

    private void pageHeader() {
        int info = le16(page, 2);
        long pageStart = lsn - pageHeaderLen;
        long pageAddr = le64(page, 8);
        if (pageAddr != pageStart) {
            state = State.LOST;
            return;
        }
        boolean continued = (info & XLP_FIRST_IS_CONTRECORD) != 0;
        long remLen = Integer.toUnsignedLong(le32(page, 16));
        boolean inRecord = state == State.SKIP || state == State.RECORD && recordLen > 0;
        if (continued && inRecord && state == State.SKIP && skip == remLen) {
            return; // in step with the page: keep skipping the record that runs on
        }
        if (continued && inRecord && state == State.RECORD && recordLen >= 4 && totalLen - recordLen == remLen) {
            return; // a record header split across the page boundary
        }
        commitPending = false;
        if (continued) {
            skip = remLen;
            state = State.SKIP;
            recordLen = 0;
            if (skip == 0) {
                state = State.ALIGN;
            }
        } else {
            startRecord();
        }
    }

    private void startRecord() {
        state = State.RECORD;
        recordLen = 0;
        totalLen = 0;
        commitPending = false;
    }

    private void recordDone() {
        if (commitPending) {
            listener.commit(lsn, commitTime);
            commitPending = false;
        }
        state = State.ALIGN;
        if ((lsn & 7) == 0) {
            startRecord();
        }
    }

    /** Looks at the kept head of a record: is it a commit, and when did it commit? */
    private void inspect() {
        int info = record[16] & 0xFF;
        int rmid = record[17] & 0xFF;
        if (rmid != RM_XACT_ID) {
            return;
        }
        int op = info & XLOG_XACT_OPMASK;
        if (op != XLOG_XACT_COMMIT && op != XLOG_XACT_COMMIT_PREPARED) {
            return;
        }
        int off = RECORD_HEADER;
        while (off < recordLen) {
            int id = record[off] & 0xFF;
            int data;
            if (id == 255 && off + 2 <= recordLen) {
                data = off + 2;
            } else if (id == 254 && off + 5 <= recordLen) {
                data = off + 5;
            } else if (id == 253) {
                off += 3; // replication origin
                continue;
            } else if (id == 252) {
                off += 5; // top-level transaction id
                continue;
            } else {
                return; // block references: not the shape of a commit record
            }
            if (data + 8 <= recordLen) {
                long micros = le64(record, data);
                commitTime = POSTGRES_EPOCH.plus(micros, ChronoUnit.MICROS);
                commitPending = true;
            }
            return;
        }
    }

    private static int le16(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
    }

    private static int le32(byte[] b, int off) {
        return le16(b, off) | le16(b, off + 2) << 16;
    }

    private static long le64(byte[] b, int off) {
        return Integer.toUnsignedLong(le32(b, off)) | (long) le32(b, off + 4) << 32;
    }
}
