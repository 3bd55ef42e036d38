package dev.backstop.core.retention;

/** Which archived logs the {@link RetentionPlanner} keeps besides recovery windows. */
public enum LogRetention {
    /**
     * Every log from the oldest kept backup on, so point-in-time recovery works between all kept
     * backups (pgBackRest's default). Long-lived yearly backups then keep years of logs.
     */
    CONTIGUOUS,
    /**
     * Only what kept backups need (each one's range from its start to its consistency point),
     * recovery windows, and everything from each stream's newest backup on. Logs between older
     * kept backups expire: those backups restore to their consistency point only.
     */
    NEEDED
}
