package dev.backstop.mysql.recovery;

import dev.backstop.core.BackupException;
import dev.backstop.core.Stage;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads a MariaDB binlog file event by event and reports its event groups (transactions, DDL
 * statements) with their GTID, byte range and time, so recovery can pick its stop position
 * before anything is replayed. Only event headers and the few bodies that delimit groups are
 * read; every other body is skipped.
 *
 * <p>A group starts at its GTID event and ends at its XID event, its XA PREPARE event, a
 * {@code COMMIT}/{@code ROLLBACK} query, or (a standalone GTID, such as DDL's, or a completed
 * XA transaction's) at the first query after the GTID. A trailing event cut short (the end of
 * a file still being written) ends the scan; a group without its end is not reported.
 */
final class BinlogScan {
    static final int HEADER = 19;
    private static final int QUERY = 2;
    private static final int FORMAT_DESCRIPTION = 15;
    private static final int XID = 16;
    private static final int XA_PREPARE = 38;
    private static final int GTID = 162;
    private static final int GTID_LIST = 163;
    private static final int QUERY_COMPRESSED = 165;
    private static final int FL_STANDALONE = 1;
    private static final int FL_COMPLETED_XA = 128;

    /** A group of events the server commits as one, and what recovery needs of it. */
    record Group(Gtid gtid, long start, long end, long timestamp) {
    }

    /** Receives the groups of a file in order; returning false ends the scan. */
    interface Visitor {
        boolean accept(Group g);
    }

    /**
     * What a scan saw besides the groups.
     *
     * @param serverId   the server id of the format description event
     * @param gtidList   the GTID list event at the file's head: the server's GTID state where the file starts
     * @param eventsEnd  the offset just past the last complete event read
     * @param boundary   whether the probed offset is where an event starts, or {@code eventsEnd}
     */
    record Result(long serverId, List<Gtid> gtidList, long eventsEnd, boolean boundary) {
    }

    private BinlogScan() {
    }

    /**
     * Scans {@code file} (called {@code name} in messages), handing every complete group to
     * {@code visitor}, and tells whether {@code probe} is an event boundary (when the scan got that far).
     */
    static Result scan(Path file, String name, long probe, Visitor visitor) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 256 * 1024)) {
            byte[] magic = in.readNBytes(4);
            if (magic.length < 4 || (magic[0] & 0xff) != 0xfe || magic[1] != 'b' || magic[2] != 'i' || magic[3] != 'n') {
                throw corrupt(name, 0, "no binlog magic");
            }
            long off = 4;
            long serverId = -1;
            boolean checksum = false;
            List<Gtid> gtidList = List.of();
            boolean boundary = probe == 4;
            Gtid open = null;
            long openStart = 0;
            long openTime = 0;
            boolean standalone = false;
            byte[] header = new byte[HEADER];
            while (true) {
                int n = in.readNBytes(header, 0, HEADER);
                if (n < HEADER) {
                    break;
                }
                long timestamp = u32(header, 0);
                int type = header[4] & 0xff;
                long length = u32(header, 9);
                if (length < HEADER) {
                    throw corrupt(name, off, "an event length of " + length);
                }
                int bodyLength = (int) Math.min(length - HEADER, Integer.MAX_VALUE);
                byte[] body = null;
                boolean wanted = type == FORMAT_DESCRIPTION || type == GTID || type == GTID_LIST
                        || (type == QUERY && open != null && bodyLength < 4096);
                if (wanted) {
                    body = in.readNBytes(bodyLength);
                    if (body.length < bodyLength) {
                        break;
                    }
                } else if (skip(in, length - HEADER) < length - HEADER) {
                    break;
                }
                long end = off + length;
                if (probe > off && probe < end) {
                    boundary = false;
                } else if (probe == end) {
                    boundary = true;
                }
                if (type == FORMAT_DESCRIPTION) {
                    serverId = u32(header, 5);
                    // MariaDB 5.3+ writes the checksum algorithm just before the event's own checksum
                    checksum = body.length >= 5 && body[body.length - 5] == 1;
                } else if (type == GTID_LIST) {
                    gtidList = gtidList(body);
                } else if (type == GTID) {
                    int flags = body[12] & 0xff;
                    open = new Gtid(u32(body, 8), u32(header, 5), u64(body, 0));
                    openStart = off;
                    openTime = timestamp;
                    standalone = (flags & (FL_STANDALONE | FL_COMPLETED_XA)) != 0;
                } else if (open != null && ends(type, body, checksum, standalone)) {
                    if (!visitor.accept(new Group(open, openStart, end, openTime))) {
                        return new Result(serverId, gtidList, end, boundary);
                    }
                    open = null;
                }
                off = end;
            }
            return new Result(serverId, gtidList, off, boundary || probe == off);
        }
    }

    private static boolean ends(int type, byte[] body, boolean checksum, boolean standalone) {
        if (type == XID || type == XA_PREPARE) {
            return true;
        }
        if (type == QUERY_COMPRESSED) {
            return standalone;
        }
        if (type != QUERY) {
            return false;
        }
        if (standalone) {
            return true;
        }
        if (body == null) {
            return false; // a long statement inside a transaction: never its COMMIT
        }
        String q = queryText(body, checksum).strip().toUpperCase(Locale.ROOT);
        return q.equals("COMMIT") || q.equals("ROLLBACK");
    }

    /** A query event's statement: after thread id, time, database length, error code and status variables. */
    private static String queryText(byte[] body, boolean checksum) {
        if (body.length < 13) {
            return "";
        }
        int dbLength = body[8] & 0xff;
        int statusLength = (body[11] & 0xff) | (body[12] & 0xff) << 8;
        int from = 13 + statusLength + dbLength + 1;
        int to = body.length - (checksum ? 4 : 0);
        return from >= to ? "" : new String(body, from, to - from, StandardCharsets.ISO_8859_1);
    }

    private static List<Gtid> gtidList(byte[] body) {
        int count = (int) (u32(body, 0) & 0x0fffffff);
        List<Gtid> out = new ArrayList<>();
        for (int i = 0; i < count && 4 + 16 * (i + 1) <= body.length; i++) {
            int at = 4 + 16 * i;
            out.add(new Gtid(u32(body, at), u32(body, at + 4), u64(body, at + 8)));
        }
        return List.copyOf(out);
    }

    private static long skip(InputStream in, long n) throws IOException {
        long done = 0;
        while (done < n) {
            long s = in.skip(n - done);
            if (s <= 0) {
                if (in.read() < 0) {
                    return done;
                }
                s = 1;
            }
            done += s;
        }
        return done;
    }

    static long u32(byte[] b, int at) {
        return (b[at] & 0xffL) | (b[at + 1] & 0xffL) << 8 | (b[at + 2] & 0xffL) << 16 | (b[at + 3] & 0xffL) << 24;
    }

    private static long u64(byte[] b, int at) {
        return u32(b, at) | u32(b, at + 4) << 32;
    }

    private static BackupException corrupt(String name, long offset, String what) {
        return new BackupException(Stage.RESTORE, "binlog " + name + " at offset " + offset + ": " + what
                + "; it is not a MariaDB binlog this recovery can read", null);
    }
}
