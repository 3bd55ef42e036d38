package dev.backstop.mysql;

import dev.backstop.core.TableFingerprint;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Fingerprints the rows of a {@code mariadb-dump} ({@code mysqldump}) stream as it passes: per
 * table the row count and the sum of {@link RowHash} row hashes, by the same definition {@link
 * MariaDbFingerprints#compute} applies to a server. Each value of a row is what the dump wrote,
 * canonicalised: a quoted string unescaped to its bytes ({@code \0 \b \n \r \t \Z} and {@code
 * \x} for any other {@code x}), a hex literal ({@code 0x...}, binary data under {@code
 * --hex-blob}) decoded to its bytes, {@code NULL} as NULL, and any other literal (numbers) as
 * written. Extended ({@code VALUES (..),(..);}, rows on one line or one per line), single-row
 * and column-listed ({@code INSERT INTO `t` (`a`, ...) VALUES}) statements, {@code INSERT
 * IGNORE} and {@code REPLACE} are read alike.
 *
 * <p>Rows are read only where the dump writes data: after a {@code -- Dumping data for table}
 * comment at the start of a line, outside {@code DELIMITER ;;} blocks, until the next comment,
 * so no trigger, routine or view text can pass for rows. Every table with a {@code -- Table
 * structure for table} or {@code -- Dumping data for table} comment is reported, empty ones
 * with no rows; views and sequences have comments of their own and are not. Text the reader
 * does not expect where a row should be fails the stream, naming the table and the offset.
 * Memory is one row's values (or one write's bytes, if more) and one line's first 64 KiB outside rows.
 *
 * <p><b>Threading.</b> Not thread-safe: one thread writes, then calls {@link #finish()}.
 *
 * <p>Past 400 lines because it is one byte-level state machine over the dump's grammar, on the
 * capture's hot path: split up, its states would hand each other every byte.
 */
final class DumpRows {
    private static final int LINE_MAX = 64 * 1024;
    private static final int TOKEN_MAX = 128;
    private static final byte[] TABLE_STRUCTURE = ascii("-- Table structure for table `");
    private static final byte[] DUMPING_DATA = ascii("-- Dumping data for table `");
    private static final byte[] DELIMITER = ascii("DELIMITER ");
    private static final byte[] INSERT = ascii("INSERT ");
    private static final byte[] REPLACE = ascii("REPLACE ");
    private static final byte[] INTO = ascii("INTO `");
    private static final byte[] VALUES = ascii("VALUES");
    private static final byte[] COMMENT = ascii("-- ");

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final byte[] NIBBLES = new byte[256];

    static {
        java.util.Arrays.fill(NIBBLES, (byte) -1);
        for (int d = 0; d < 16; d++) {
            NIBBLES["0123456789ABCDEF".charAt(d)] = (byte) d;
            NIBBLES["0123456789abcdef".charAt(d)] = (byte) d;
        }
    }

    private static final int LINE = 0;
    private static final int VALUE_START = 1;
    private static final int STRING = 2;
    private static final int ESCAPE = 3;
    private static final int BARE = 4;
    private static final int HEX = 5;
    private static final int AFTER_VALUE = 6;
    private static final int AFTER_ROW = 7;
    private static final int EXPECT_ROW = 8;
    private static final int ZERO = 9;
    private static final int NUMBER = 10;

    private final Map<String, long[]> tables = new LinkedHashMap<>();
    private final RowHash row = new RowHash();
    private final DumpLine line = new DumpLine(LINE_MAX);
    private final byte[] token = new byte[TOKEN_MAX];
    private int state = LINE;
    private boolean dataSection;
    private boolean delimited;
    private int tokenLength;
    /** Bytes of the number literal read so far. */
    private int numberLength;
    private int highNibble = -1;
    private String table;
    private long[] current;
    private long offset;

    /** Reads the next bytes of the dump. */
    void write(byte[] b, int off, int len) throws IOException {
        int end = off + len;
        int i = off;
        while (i < end) {
            switch (state) {
                case STRING -> {
                    i = string(b, i, end);
                    continue;
                }
                case ESCAPE -> {
                    row.appendByte(unescape(b[i]));
                    state = STRING;
                }
                case HEX -> {
                    if (highNibble < 0) {
                        i = hexDigits(b, i, end);
                    }
                    while (i < end && b[i] != ',' && b[i] != ')') {
                        int nibble = NIBBLES[b[i] & 0xff];
                        if (nibble < 0) {
                            throw unexpected(b[i], offset + (i - off), "a hex digit");
                        }
                        if (highNibble < 0) {
                            highNibble = nibble;
                        } else {
                            row.appendByte(highNibble << 4 | nibble);
                            highNibble = -1;
                        }
                        i++;
                    }
                    if (i < end) {
                        if (highNibble >= 0) {
                            throw unexpected(b[i], offset + (i - off), "an even number of hex digits");
                        }
                        row.endValue();
                        endValue(b[i]);
                        i++;
                    }
                    continue;
                }
                case NUMBER -> {
                    int start = i;
                    while (i < end && b[i] != ',' && b[i] != ')') {
                        i++;
                    }
                    int n = i - start;
                    if (numberLength + n > TOKEN_MAX) {
                        throw unexpected(b[start], offset + (start - off), "a literal of at most " + TOKEN_MAX + " bytes");
                    }
                    // a number goes into the row as written, straight from the dump
                    row.append(b, start, n);
                    numberLength += n;
                    if (i < end) {
                        row.endValue();
                        endValue(b[i]);
                        i++;
                    }
                    continue;
                }
                case BARE -> {
                    int start = i;
                    while (i < end && b[i] != ',' && b[i] != ')') {
                        i++;
                    }
                    int n = i - start;
                    if (tokenLength + n > TOKEN_MAX) {
                        throw unexpected(b[start], offset + (start - off), "a literal of at most " + TOKEN_MAX + " bytes");
                    }
                    System.arraycopy(b, start, token, tokenLength, n);
                    tokenLength += n;
                    if (i < end) {
                        bareValue(b[i], offset + (i - off));
                        endValue(b[i]);
                        i++;
                    }
                    continue;
                }
                case ZERO -> {
                    if (b[i] == 'x') {
                        row.beginValue();
                        highNibble = -1;
                        state = HEX;
                        i++;
                    } else {
                        // a number starting with 0: this byte belongs to it
                        startNumber((byte) '0');
                    }
                    continue;
                }
                case VALUE_START -> {
                    byte c = b[i];
                    if (c == '\'') {
                        row.beginValue();
                        state = STRING;
                    } else if (c == '0') {
                        state = ZERO;
                    } else if (c == '-' || c == '+' || c == '.' || (c >= '1' && c <= '9')) {
                        startNumber(c);
                    } else if (c == 'N') {
                        token[0] = c;
                        tokenLength = 1;
                        state = BARE;
                    } else {
                        throw unexpected(c, offset + (i - off), "a value");
                    }
                }
                case AFTER_VALUE -> {
                    byte c = b[i];
                    if (c != ',' && c != ')') {
                        throw unexpected(c, offset + (i - off), "',' or ')' after a value");
                    }
                    endValue(c);
                }
                case AFTER_ROW -> {
                    byte c = b[i];
                    if (c == ',') {
                        state = EXPECT_ROW;
                    } else if (c == ';') {
                        state = LINE;
                        line.reset();
                    } else if (!whitespace(c)) {
                        throw unexpected(c, offset + (i - off), "',' or ';' after a row");
                    }
                }
                case EXPECT_ROW -> {
                    byte c = b[i];
                    if (c == '(') {
                        state = VALUE_START;
                    } else if (!whitespace(c)) {
                        throw unexpected(c, offset + (i - off), "'(' starting a row");
                    }
                }
                default -> lineByte(b[i], offset + (i - off));
            }
            i++;
        }
        offset += len;
    }

    /**
     * Copies the bytes of a quoted string from {@code b[i..end)} into the row, unescaped, up to
     * its closing quote (then the value ends) or {@code end}; returns where it stopped. Written
     * into the row's buffer in place: JSON text comes with an escaped quote every few bytes, and
     * a call and a capacity check per piece cost more than the copying.
     */
    private int string(byte[] b, int i, int end) {
        // unescaped, the string is never longer than it is in the dump
        byte[] dst = row.reserve(end - i);
        int d = row.length();
        while (true) {
            int stop = stringEnd(b, i, end);
            int n = stop - i;
            if (n > 16) {
                System.arraycopy(b, i, dst, d, n);
            } else if (i + 16 <= end) {
                // a short piece as two words; the bytes copied past it are overwritten next (the
                // buffer has room: the dump's bytes left are never fewer than those still to copy)
                LONGS.set(dst, d, (long) LONGS.get(b, i));
                LONGS.set(dst, d + 8, (long) LONGS.get(b, i + 8));
            } else {
                for (int k = 0; k < n; k++) {
                    dst[d + k] = b[i + k];
                }
            }
            d += n;
            i = stop;
            if (i == end) {
                break;
            }
            if (b[i] == '\'') {
                row.setLength(d);
                row.endValue();
                state = AFTER_VALUE;
                return i + 1;
            }
            if (i + 1 == end) {
                // the escaped byte comes with the next write
                state = ESCAPE;
                i++;
                break;
            }
            dst[d++] = unescape(b[i + 1]);
            i += 2;
        }
        row.setLength(d);
        return i;
    }

    /**
     * Decodes the whole pairs of hex digits from {@code b[i..end)} into the row, eight digits at
     * a time while it can, written in place; returns the index of the first byte not decoded
     * (a lone digit, the byte ending the literal, or {@code end}).
     */
    private int hexDigits(byte[] b, int i, int end) {
        byte[] dst = row.reserve((end - i) / 2 + 4);
        int d = row.length();
        long four;
        while (i + 8 <= end && (four = hex8((long) LONGS.get(b, i))) >= 0) {
            INTS.set(dst, d, (int) four);
            d += 4;
            i += 8;
        }
        while (i + 1 < end) {
            int high = NIBBLES[b[i] & 0xff];
            int low = NIBBLES[b[i + 1] & 0xff];
            if ((high | low) < 0) {
                break;
            }
            dst[d++] = (byte) (high << 4 | low);
            i += 2;
        }
        row.setLength(d);
        return i;
    }

    /** The fingerprints of every table seen, keyed by table name; fails if the dump ended inside a statement. */
    Map<String, TableFingerprint> finish() throws IOException {
        if (state != LINE || insertHeaderPending()) {
            throw new IOException("the dump ended inside the rows of table `" + table + "` at byte " + offset
                    + ": it is truncated");
        }
        endLine();
        Map<String, TableFingerprint> out = new TreeMap<>();
        tables.forEach((name, t) -> out.put(name, new TableFingerprint(t[0], MariaDbFingerprints.contentHash(t[0], t[1]))));
        return out;
    }

    private void endValue(byte c) {
        if (c == ',') {
            state = VALUE_START;
        } else {
            current[0]++;
            current[1] += row.finishRow();
            state = AFTER_ROW;
        }
    }

    private void startNumber(byte first) {
        row.beginValue();
        row.appendByte(first);
        numberLength = 1;
        state = NUMBER;
    }

    /** Ends a bare word: the reader takes only NULL for one. */
    private void bareValue(byte c, long at) throws IOException {
        if (tokenLength == 4 && token[0] == 'N' && token[1] == 'U' && token[2] == 'L' && token[3] == 'L') {
            row.nullValue();
        } else {
            throw unexpected(c, at, "NULL");
        }
    }

    /** The index of the first quote or backslash in {@code b[i..end)}, or {@code end}; eight bytes at a time. */
    private static int stringEnd(byte[] b, int i, int end) {
        while (i + 8 <= end) {
            long w = (long) LONGS.get(b, i);
            long q = w ^ 0x2727272727272727L;
            long s = w ^ 0x5C5C5C5C5C5C5C5CL;
            // a byte of q or s is zero where w holds a quote or a backslash; the lowest flag is exact
            long hit = ((q - 0x0101010101010101L) & ~q | (s - 0x0101010101010101L) & ~s) & 0x8080808080808080L;
            if (hit != 0) {
                return i + (Long.numberOfTrailingZeros(hit) >>> 3);
            }
            i += 8;
        }
        while (i < end && b[i] != '\'' && b[i] != '\\') {
            i++;
        }
        return i;
    }

    /**
     * The four bytes that the eight hex digits (either case) in {@code w}, read little-endian,
     * stand for, as a little-endian int in the low 32 bits; -1 if any byte is not a hex digit.
     * Eight at a time: binary columns make up much of a dump, and a table lookup per digit was
     * the parser's hottest loop.
     */
    static long hex8(long w) {
        final long high = 0x8080808080808080L;
        if ((w & high) != 0) {
            return -1;
        }
        // per byte (each below 0x80, so no carry leaves its byte): bit 7 set where '0' <= b <= '9'
        long digit = (w + 0x5050505050505050L) & ~(w + 0x4646464646464646L) & high;
        long folded = w | 0x2020202020202020L;
        // and where 'a' <= (b | 0x20) <= 'f', that is b in A-F or a-f
        long letter = (folded + 0x1F1F1F1F1F1F1F1FL) & ~(folded + 0x1919191919191919L) & high;
        if ((digit | letter) != high) {
            return -1;
        }
        long nibbles = (w & 0x0F0F0F0F0F0F0F0FL) + (letter >>> 7) * 9;
        // byte 2k becomes nibble 2k << 4 | nibble 2k+1; then the even bytes are packed together
        long t = ((nibbles << 4) | (nibbles >>> 8)) & 0x00FF00FF00FF00FFL;
        t = (t | (t >>> 8)) & 0x0000FFFF0000FFFFL;
        return (t | (t >>> 16)) & 0xFFFFFFFFL;
    }

    private static byte unescape(byte c) {
        return switch (c) {
            case '0' -> 0;
            case 'b' -> 8;
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'Z' -> 26;
            default -> c;
        };
    }

    private void lineByte(byte c, long at) throws IOException {
        if (c == '\n') {
            if (insertHeaderPending()) {
                // "VALUES" ends the line and the first row starts the next one
                line.append((byte) ' ');
                return;
            }
            endLine();
            return;
        }
        if (c == '`') {
            line.backquote();
        }
        if (c == '(' && !line.insideBackquotes() && insertHeaderPending()) {
            if (line.overflowed()) {
                throw new IOException("an INSERT statement's head is longer than " + LINE_MAX + " bytes at byte " + at);
            }
            startRows(at);
            return;
        }
        line.append(c);
    }

    /** Whether the line so far is an INSERT head in a data section ending with VALUES (its first row comes next). */
    private boolean insertHeaderPending() {
        return dataSection && !delimited && !line.insideBackquotes() && (line.startsWith(INSERT) || line.startsWith(REPLACE))
                && line.endsWithKeyword(VALUES);
    }

    private void startRows(long at) throws IOException {
        int into = line.indexOf(INTO);
        if (into < 0) {
            throw new IOException("an INSERT statement without INTO `table` at byte " + at + ": "
                    + line.text(0, 200));
        }
        String name = line.quoted(into + INTO.length - 1);
        if (name == null) {
            throw new IOException("an INSERT statement with an unterminated table name at byte " + at);
        }
        enterTable(name);
        state = VALUE_START;
    }

    private void endLine() {
        if (line.length() > 0) {
            if (line.startsWith(DELIMITER)) {
                String d = line.text(DELIMITER.length, LINE_MAX).strip();
                delimited = !d.equals(";");
                dataSection = false;
            } else if (!delimited && line.startsWith(DUMPING_DATA)) {
                String name = line.quoted(DUMPING_DATA.length - 1);
                if (name != null) {
                    enterTable(name);
                    dataSection = true;
                }
            } else if (!delimited && line.startsWith(TABLE_STRUCTURE)) {
                String name = line.quoted(TABLE_STRUCTURE.length - 1);
                if (name != null) {
                    enterTable(name);
                }
                dataSection = false;
            } else if (line.startsWith(COMMENT)) {
                dataSection = false;
            }
        }
        line.reset();
    }

    private void enterTable(String name) {
        if (!name.equals(table)) {
            table = name;
            current = tables.computeIfAbsent(name, k -> new long[2]);
        }
    }

    private IOException unexpected(byte c, long at, String expected) {
        return new IOException("unexpected " + describe(c) + " at byte " + at + " of the dump in the rows of table `" + table
                + "`, expected " + expected);
    }

    private static String describe(byte c) {
        return c >= 0x20 && c < 0x7f ? "'" + (char) c + "'" : String.format("byte 0x%02x", c & 0xff);
    }

    private static boolean whitespace(byte c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
