package dev.backstop.postgres.wal;

import dev.backstop.core.log.LogFile;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name of one file PostgreSQL archives: a WAL segment ({@code 000000010000000000000003}), a
 * partial segment ({@code ….partial}), a backup history file ({@code ….00000028.backup}, written
 * at the end of every base backup) or a timeline history file ({@code 00000002.history}).
 * Backstop assumes the default segment size of 16 MiB.
 *
 * <p>Immutable value; {@link #parse} rejects anything else with a message naming the name.
 */
public record WalFile(String name, Kind kind, int timeline, long segmentNumber) {
    /** Bytes in one segment (PostgreSQL's default {@code wal_segment_size}). */
    public static final long SEGMENT_BYTES = 16L * 1024 * 1024;
    private static final long SEGMENTS_PER_XLOGID = 0x1_0000_0000L / SEGMENT_BYTES;
    private static final Pattern SEGMENT = Pattern.compile("([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})(\\.partial|\\.[0-9A-F]{8}\\.backup)?");
    private static final Pattern HISTORY = Pattern.compile("([0-9A-F]{8})\\.history");

    /** What the file holds. */
    public enum Kind { SEGMENT, PARTIAL, BACKUP, HISTORY }

    /** Parses a file name as PostgreSQL passes it to {@code archive_command} ({@code %f}). */
    public static WalFile parse(String name) {
        Matcher m = SEGMENT.matcher(name);
        if (m.matches()) {
            int tli = (int) Long.parseLong(m.group(1), 16);
            long log = Long.parseLong(m.group(2), 16);
            long seg = Long.parseLong(m.group(3), 16);
            if (seg >= SEGMENTS_PER_XLOGID) {
                throw new IllegalArgumentException("WAL file name '" + name + "': segment part " + m.group(3)
                        + " is past " + Long.toHexString(SEGMENTS_PER_XLOGID - 1) + " for 16 MiB segments");
            }
            checkTimeline(name, tli);
            Kind kind = m.group(4) == null ? Kind.SEGMENT : m.group(4).equals(".partial") ? Kind.PARTIAL : Kind.BACKUP;
            return new WalFile(name, kind, tli, log * SEGMENTS_PER_XLOGID + seg);
        }
        m = HISTORY.matcher(name);
        if (m.matches()) {
            int tli = (int) Long.parseLong(m.group(1), 16);
            checkTimeline(name, tli);
            return new WalFile(name, Kind.HISTORY, tli, -1);
        }
        throw new IllegalArgumentException("WAL file name: got '" + name + "', expected 24 upper-case hex digits "
                + "(optionally + '.partial' or '.<8 hex digits>.backup') or 8 hex digits + '.history'");
    }

    private static void checkTimeline(String name, int tli) {
        if (tli == 0) {
            throw new IllegalArgumentException("WAL file name '" + name + "': timeline 0 does not exist");
        }
    }

    /** The segment of timeline {@code timeline} that holds {@code lsn}. */
    public static WalFile segmentOf(int timeline, long lsn) {
        long segNo = Long.divideUnsigned(lsn, SEGMENT_BYTES);
        return parse(segmentName(timeline, segNo));
    }

    static String segmentName(int timeline, long segNo) {
        return String.format(Locale.ROOT, "%08X%08X%08X", timeline, segNo / SEGMENTS_PER_XLOGID, segNo % SEGMENTS_PER_XLOGID);
    }

    /** The history file that starts {@code timeline}. */
    public static WalFile historyOf(int timeline) {
        return parse(String.format(Locale.ROOT, "%08X.history", timeline));
    }

    /** The next segment on the same timeline; for segments only. */
    public WalFile next() {
        requireSegment();
        return parse(segmentName(timeline, segmentNumber + 1));
    }

    /** The first LSN this segment holds; for segments only. */
    public long startLsn() {
        requireSegment();
        return segmentNumber * SEGMENT_BYTES;
    }

    /** The LSN just past this segment; for segments only. */
    public long endLsn() {
        return startLsn() + SEGMENT_BYTES;
    }

    public boolean isSegment() {
        return kind == Kind.SEGMENT || kind == Kind.PARTIAL;
    }

    private void requireSegment() {
        if (!isSegment()) {
            throw new IllegalStateException(name + " is a " + kind.name().toLowerCase(Locale.ROOT) + " file, not a segment");
        }
    }

    /** Formats an LSN the way PostgreSQL prints it ({@code 0/3000028}). */
    public static String formatLsn(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase(Locale.ROOT) + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase(Locale.ROOT);
    }

    /** Parses an LSN as PostgreSQL prints it. */
    public static long parseLsn(String text) {
        int slash = text.indexOf('/');
        try {
            if (slash <= 0 || slash == text.length() - 1) {
                throw new NumberFormatException();
            }
            long hi = Long.parseLong(text.substring(0, slash), 16);
            long lo = Long.parseLong(text.substring(slash + 1), 16);
            if (hi > 0xFFFFFFFFL || lo > 0xFFFFFFFFL) {
                throw new NumberFormatException();
            }
            return hi << 32 | lo;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LSN: got '" + text + "', expected two hex numbers of at most 8 digits "
                    + "separated by '/', such as 0/3000028");
        }
    }

    /**
     * This file as the log archive names it: epoch the timeline in 8 hex digits; a segment holds
     * its LSN range, every other kind no positions (retention keeps partial, backup and history files).
     */
    public LogFile logFile() {
        String epoch = String.format(Locale.ROOT, "%08X", timeline);
        return kind == Kind.SEGMENT ? LogFile.positioned(epoch, name, startLsn(), endLsn()) : LogFile.side(epoch, name);
    }

    @Override
    public String toString() {
        return name;
    }
}
