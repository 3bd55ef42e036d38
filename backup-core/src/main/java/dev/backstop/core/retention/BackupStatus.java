package dev.backstop.core.retention;

/**
 * Whether a backup has been proven restorable. Only {@link #VERIFIED} backups count toward the
 * guarantees of a {@link RetentionPolicy}; the others follow the planner's own grace periods.
 */
public enum BackupStatus {
    /** The newest validation record passed. */
    VERIFIED,
    /** No validation record yet (a drill may still be pending). */
    UNVERIFIED,
    /** The newest validation record failed: the backup is not known to restore. */
    FAILED
}
