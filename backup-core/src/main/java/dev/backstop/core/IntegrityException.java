package dev.backstop.core;

/**
 * Stored data is not what was written: a digest or size differs, authentication failed, data is
 * truncated or was moved. Names the object, what was expected and what was found. Never retryable.
 */
public final class IntegrityException extends BackupException {
    private static final long serialVersionUID = 1L;

    private final String key;
    private final String expected;
    private final String found;

    public IntegrityException(String key, String what, String expected, String found, Throwable cause, BackupId backupId) {
        super(Stage.VERIFY, "object " + key + ": " + what + ": expected " + expected + ", found " + found, cause, false, backupId);
        this.key = key;
        this.expected = expected;
        this.found = found;
    }

    public String key() {
        return key;
    }

    public String expected() {
        return expected;
    }

    public String found() {
        return found;
    }
}
