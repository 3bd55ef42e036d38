package dev.backstop.core.log;

/**
 * Positions of one epoch that no archived file holds: between the end of {@code after} and the
 * start of {@code before}. Recovery cannot replay past {@code after} on this epoch.
 */
public record LogGap(LogFile after, LogFile before) {
    public LogGap {
        if (!after.epoch().equals(before.epoch()) || after.end() >= before.start()) {
            throw new IllegalArgumentException("log gap: got " + after.name() + " then " + before.name()
                    + ", need two positioned files of one epoch with positions missing between them");
        }
    }

    /** The first position missing. */
    public long start() {
        return after.end();
    }

    /** The position just past the last one missing. */
    public long end() {
        return before.start();
    }

    @Override
    public String toString() {
        return "gap in epoch " + after.epoch() + " after " + after.name() + " before " + before.name() + " (positions ["
                + start() + ", " + end() + "))";
    }
}
