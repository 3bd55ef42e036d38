package dev.backstop.core.retention;

/**
 * Whether a backup has been proven restorable, by {@code Restore.verify(manifest)} or a restore
 * drill. Retention rules count {@link #VERIFIED} and {@link #UNVERIFIED} backups alike and never
 * {@link #FAILED} ones; the planner always keeps the newest verified backup (see
 * {@link RetentionPlanner}).
 */
public enum BackupStatus {
    /** The newest validation record passed. */
    VERIFIED,
    /** No validation record yet (a drill may still be pending). */
    UNVERIFIED,
    /** The newest validation record failed: the backup is not known to restore. */
    FAILED
}
