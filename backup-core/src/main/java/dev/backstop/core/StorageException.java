package dev.backstop.core;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.util.Locale;
import java.util.Objects;

/**
 * The repository could not be written or read (disk full, permissions, network, missing object).
 *
 * <p>{@link #reason()} says which kind of failure it was, so a scheduler or an operator can act
 * on it: a full disk or a read-only or forbidden repository does not heal by retrying, so those
 * are never {@linkplain #retryable() retryable}; {@link Reason#NO_SPACE} is its own reason because
 * freeing space (or expiring backups) is the fix.
 */
public final class StorageException extends BackupException {
    private static final long serialVersionUID = 1L;

    /** What kind of storage failure this was. */
    public enum Reason {
        /** The device or quota is full (ENOSPC, EDQUOT). Not retryable until space is freed. */
        NO_SPACE,
        /** The repository is on a read-only file system or volume (EROFS). Not retryable. */
        READ_ONLY,
        /** The process or its credentials may not do this (EACCES, EPERM, HTTP 403). Not retryable. */
        ACCESS_DENIED,
        /** Anything else; whether it is retryable is decided where it is thrown. */
        OTHER;

        /**
         * The reason an I/O failure shows, looking through its causes: the exception type where
         * Java has one ({@link AccessDeniedException}), else the operating system's message.
         */
        public static Reason of(Throwable failure) {
            for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
                if (t instanceof AccessDeniedException) {
                    return ACCESS_DENIED;
                }
                String m = t instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : t.getMessage();
                if (m != null) {
                    String lower = m.toLowerCase(Locale.ROOT);
                    if (lower.contains("no space left on device") || lower.contains("disk quota exceeded")) {
                        return NO_SPACE;
                    }
                    if (lower.contains("read-only file system")) {
                        return READ_ONLY;
                    }
                    if (lower.contains("operation not permitted") || lower.contains("permission denied")) {
                        return ACCESS_DENIED;
                    }
                }
            }
            return OTHER;
        }
    }

    private final String key;
    private final Reason reason;

    /** A failure of {@link Reason#OTHER}, retryable as the caller says. */
    public StorageException(String key, String message, Throwable cause, boolean retryable, BackupId backupId) {
        this(key, message, cause, retryable, backupId, Reason.OTHER);
    }

    private StorageException(String key, String message, Throwable cause, boolean retryable, BackupId backupId,
                             Reason reason) {
        super(Stage.STORE, (key == null ? "" : "object " + key + ": ")
                + (reason == Reason.OTHER ? "" : describe(reason) + ": ") + message, cause, retryable, backupId);
        this.key = key;
        this.reason = reason;
    }

    /**
     * A failure classified by {@link Reason#of}: retryable only when it is {@link Reason#OTHER}
     * and {@code cause} is not an {@link ObjectExistsException} (an existing immutable object
     * stays).
     */
    public static StorageException of(String key, String message, IOException cause, BackupId backupId) {
        Objects.requireNonNull(cause, "cause");
        Reason reason = Reason.of(cause);
        boolean retryable = reason == Reason.OTHER && !(cause instanceof ObjectExistsException);
        return new StorageException(key, message, cause, retryable, backupId, reason);
    }

    private static String describe(Reason reason) {
        return switch (reason) {
            case NO_SPACE -> "repository storage is full";
            case READ_ONLY -> "repository storage is read-only";
            case ACCESS_DENIED -> "access to the repository denied";
            case OTHER -> "";
        };
    }

    /** The object key involved, or null when the failure was not about one object. */
    public String key() {
        return key;
    }

    /** What kind of failure this was; {@link Reason#OTHER} when nothing more specific is known. */
    public Reason reason() {
        return reason;
    }
}
