package dev.backstop.core;

/** What kind of capture a backup holds; part of its id and its manifest. */
public enum BackupType {
    /** A logical dump (pg_dump, mariadb-dump): restorable into another server version. */
    LOGICAL("logical"),
    /** A physical copy of the data directory (pg_basebackup): needs logs to be consistent. */
    PHYSICAL("physical"),
    /** Bytes from a command or a file that Backstop does not interpret. */
    RAW("raw");

    private final String label;

    BackupType(String label) {
        this.label = label;
    }

    /** The lower-case label used in backup ids and manifests. */
    public String label() {
        return label;
    }

    /** Parses a label written by {@link #label()}. */
    public static BackupType fromLabel(String label) {
        for (BackupType t : values()) {
            if (t.label.equals(label)) {
                return t;
            }
        }
        throw new IllegalArgumentException("backup type: got '" + label + "', allowed: logical, physical, raw");
    }
}
