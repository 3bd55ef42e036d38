package dev.backstop.postgres.logical;

import java.util.Locale;

/** The pg_dump output formats Backstop captures, with the stream name each is stored under. */
public enum DumpFormat {
    /** {@code pg_dump -Fc}: one archive; restored with {@code pg_restore}, in parallel from a spooled file. */
    CUSTOM("c", "dump.pgc"),
    /**
     * {@code pg_dump -Fd -j N}: parallel dump into a directory, stored as one tar stream so it flows
     * through the same transforms; restored with {@code pg_restore -j N}.
     */
    DIRECTORY("d", "dump.tar"),
    /** {@code pg_dump -Fp}: plain SQL; restored with {@code psql -v ON_ERROR_STOP=1}; no subset restore. */
    PLAIN("p", "dump.sql");

    private final String flag;
    private final String streamName;

    DumpFormat(String flag, String streamName) {
        this.flag = flag;
        this.streamName = streamName;
    }

    /** The letter after {@code pg_dump -F}. */
    public String flag() {
        return flag;
    }

    /** The name of the backup stream this format is stored under. */
    public String streamName() {
        return streamName;
    }

    /** The lower-case label recorded in manifests. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a label written by {@link #label()}. */
    public static DumpFormat fromLabel(String label) {
        for (DumpFormat f : values()) {
            if (f.label().equals(label)) {
                return f;
            }
        }
        throw new IllegalArgumentException("dump format: got '" + label + "', allowed: custom, directory, plain");
    }
}
