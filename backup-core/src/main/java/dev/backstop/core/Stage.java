package dev.backstop.core;

/** The step of a backup, restore or maintenance job that failed. */
public enum Stage {
    /** Building or checking configuration. */
    CONFIGURE,
    /** Reading from the database or source process. */
    CAPTURE,
    /** Compressing, encrypting or decoding. */
    TRANSFORM,
    /** Writing to, reading from or listing the repository. */
    STORE,
    /** Reading or writing manifests. */
    CATALOG,
    /** Wrapping, unwrapping or rotating keys. */
    KEY,
    /** Checking digests, sizes and authentication. */
    VERIFY,
    /** Writing into the restore target. */
    RESTORE,
    /** Planning or executing retention. */
    RETENTION,
    /** Taking or keeping the repository lock. */
    LOCK
}
