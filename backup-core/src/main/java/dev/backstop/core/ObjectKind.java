package dev.backstop.core;

import dev.backstop.core.event.AuditLog;

/**
 * What an object in a repository is for. Sinks use it to pick storage class and object lock,
 * and it decides whether publishing may replace an existing object.
 */
public enum ObjectKind {
    /** Backup data; immutable once published. */
    DATA(false),
    /** A backup manifest; immutable; its presence is what makes a backup exist. */
    MANIFEST(false),
    /** Archived WAL or binlog; immutable. */
    LOG(false),
    /** A validation record appended to the catalog; immutable. */
    VALIDATION(false),
    /** An audit-log entry ({@link AuditLog}); immutable, kept by the audit log's own retention. */
    AUDIT(false),
    /** A wrapped data key; replaced in place when the key-encryption key is rotated. */
    KEY(true),
    /**
     * A lease object of the repository lock. Immutable, so that creating one is a conditional
     * write that only one contender wins; a renewal writes a new lease.
     */
    LOCK(false),
    /**
     * Small mutable repository state that is not a backup: pins, legal holds, the expiry journal.
     * Replaced or deleted in place, so sinks must not put object lock on it.
     */
    STATE(true);

    private final boolean replaceable;

    ObjectKind(boolean replaceable) {
        this.replaceable = replaceable;
    }

    /** Whether {@link Sink.Upload#commit()} may replace an existing object of this kind. */
    public boolean replaceable() {
        return replaceable;
    }
}
