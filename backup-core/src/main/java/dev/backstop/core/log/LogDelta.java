package dev.backstop.core.log;

/**
 * One delta object of an unfinished file: the immutable object {@code key} holds bytes {@code
 * [from, to)} of the file.
 */
public record LogDelta(String key, long from, long to) {
    public LogDelta {
        if (from < 0 || to <= from) {
            throw new IllegalArgumentException("log delta " + key + ": got [" + from + ", " + to + "), need 0 <= from < to");
        }
    }

    /** How many bytes it holds. */
    public long bytes() {
        return to - from;
    }
}
