package dev.backstop.postgres.logical;

/**
 * How {@link PgDumpSource} takes a backup's table fingerprints (the schema hash is always a
 * catalog query in the dump's snapshot).
 *
 * <p><b>Guarantees.</b> Whatever the method, fingerprints describe the dump's snapshot exactly and
 * {@link PgFingerprints#compute(java.sql.Connection, dev.backstop.core.Fingerprints)} checks a
 * restore against them the same way they were taken.
 */
public enum FingerprintMethod {
    /**
     * Hash the COPY data pg_dump streams anyway, on one extra client thread, instead of reading
     * every table a second time on the server (content hashes {@code c:}). Applies to
     * {@link DumpFormat#CUSTOM} dumps of UTF8 databases; tables whose text cannot be reproduced
     * (a {@code money} column) and every table when the dump cannot be hashed (another format or
     * encoding, {@code --inserts}, {@code --extra-float-digits}, a pg_dump newer than 16 whose
     * archive format Backstop does not read yet) are fingerprinted as by
     * {@link #SERVER}. A table whose data the dump leaves out ({@code --exclude-table-data},
     * {@code --schema-only}) is recorded with no rows, as its restore holds it. The default.
     */
    STREAM,
    /**
     * A second read of every table, by COPY in the dump's snapshot concurrently with the dump,
     * hashed by the client with the same rule as {@link #STREAM} (content hashes {@code c:}).
     */
    SERVER,
    /** No fingerprints: cheapest, but a restore drill then has nothing to compare with. */
    NONE
}
