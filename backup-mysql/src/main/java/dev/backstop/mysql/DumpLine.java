package dev.backstop.mysql;

import java.nio.charset.StandardCharsets;

/**
 * The line of a dump that {@link DumpRows} is reading outside rows: its first bytes up to a
 * bound (the rest is only noted as overflow), and how many backquotes it has seen, so that a
 * parenthesis inside a quoted identifier is not taken for the start of a row.
 *
 * <p><b>Threading.</b> Not thread-safe; owned by one {@link DumpRows}.
 */
final class DumpLine {
    private final byte[] bytes;
    private int length;
    private boolean overflow;
    private int backquotes;

    DumpLine(int max) {
        this.bytes = new byte[max];
    }

    void append(byte c) {
        if (length < bytes.length) {
            bytes[length++] = c;
        } else {
            overflow = true;
        }
    }

    void backquote() {
        backquotes++;
    }

    /** Whether a backquoted identifier is open at the end of the line so far. */
    boolean insideBackquotes() {
        return (backquotes & 1) != 0;
    }

    /** Whether bytes were dropped because the line is longer than the bound. */
    boolean overflowed() {
        return overflow;
    }

    int length() {
        return length;
    }

    void reset() {
        length = 0;
        backquotes = 0;
        overflow = false;
    }

    /** Bytes {@code from..} of the line, at most {@code max} of them, as UTF-8. */
    String text(int from, int max) {
        return new String(bytes, from, Math.min(length - from, max), StandardCharsets.UTF_8);
    }

    boolean startsWith(byte[] prefix) {
        if (length < prefix.length) {
            return false;
        }
        for (int k = 0; k < prefix.length; k++) {
            if (bytes[k] != prefix[k]) {
                return false;
            }
        }
        return true;
    }

    int indexOf(byte[] what) {
        outer:
        for (int k = 0; k + what.length <= length; k++) {
            for (int j = 0; j < what.length; j++) {
                if (bytes[k + j] != what[j]) {
                    continue outer;
                }
            }
            return k;
        }
        return -1;
    }

    /**
     * Whether the line, trailing whitespace aside, ends with {@code keyword} preceded by a space,
     * a closing parenthesis or a backquote (so that it is not the end of a longer word).
     */
    boolean endsWithKeyword(byte[] keyword) {
        int e = length;
        while (e > 0 && whitespace(bytes[e - 1])) {
            e--;
        }
        if (e < keyword.length + 1) {
            return false;
        }
        for (int k = 0; k < keyword.length; k++) {
            if (bytes[e - keyword.length + k] != keyword[k]) {
                return false;
            }
        }
        byte before = bytes[e - keyword.length - 1];
        return before == ' ' || before == ')' || before == '`';
    }

    /** The backquoted identifier starting at {@code bytes[at]}, doubled backquotes undone; null if unterminated. */
    String quoted(int at) {
        StringBuilder s = new StringBuilder();
        int k = at + 1;
        int start = k;
        while (k < length) {
            if (bytes[k] == '`') {
                if (k + 1 < length && bytes[k + 1] == '`') {
                    s.append(new String(bytes, start, k + 1 - start, StandardCharsets.UTF_8));
                    k += 2;
                    start = k;
                    continue;
                }
                s.append(new String(bytes, start, k - start, StandardCharsets.UTF_8));
                return s.toString();
            }
            k++;
        }
        return null;
    }

    static boolean whitespace(byte c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
    }
}
