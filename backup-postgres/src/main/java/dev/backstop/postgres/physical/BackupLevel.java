package dev.backstop.postgres.physical;

/**
 * What a {@link DataDirectorySource} or {@link BaseBackupSource} backup keeps: the whole cluster,
 * or only what changed since a parent backup (of either source). An increment holds every file that is new, not a relation, or smaller than in
 * its parent, and of the other relation files only the 8 KiB pages whose LSN is at or after the
 * parent's start LSN; a restore rebuilds the cluster from the increment and its chain of parents.
 */
public enum BackupLevel {
    /** Every file; a chain starts here. */
    FULL("full"),
    /** Changes since the last full backup: chains are at most two backups long. */
    DIFF("diff"),
    /** Changes since the last backup of any level. */
    INCR("incr");

    private final String label;

    BackupLevel(String label) {
        this.label = label;
    }

    /** The short name recorded in the manifest's {@code postgresql.backup_level} attribute. */
    public String label() {
        return label;
    }

    /** The level whose {@link #label()} is {@code label}. */
    public static BackupLevel ofLabel(String label) {
        for (BackupLevel l : values()) {
            if (l.label.equals(label)) {
                return l;
            }
        }
        throw new IllegalArgumentException("backup level: got '" + label + "', need one of full, diff, incr");
    }
}
