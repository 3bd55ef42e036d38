package dev.backstop.core;

/** The repository could not be written or read (disk full, permissions, network, missing object). */
public final class StorageException extends BackupException {
    private static final long serialVersionUID = 1L;

    private final String key;

    public StorageException(String key, String message, Throwable cause, boolean retryable, BackupId backupId) {
        super(Stage.STORE, (key == null ? "" : "object " + key + ": ") + message, cause, retryable, backupId);
        this.key = key;
    }

    /** The object key involved, or null when the failure was not about one object. */
    public String key() {
        return key;
    }
}
