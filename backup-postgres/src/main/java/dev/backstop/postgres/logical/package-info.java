/**
 * Logical backups of one database: {@link dev.backstop.postgres.logical.PgDumpSource} captures it
 * with {@code pg_dump} inside an exported snapshot, together with fingerprints taken in the same
 * snapshot ({@link dev.backstop.postgres.logical.PgFingerprints}, {@link
 * dev.backstop.postgres.logical.FingerprintMethod}, {@link
 * dev.backstop.postgres.logical.SchemaProof}); {@link dev.backstop.postgres.logical.PostgresRestore}
 * restores it with {@code pg_restore} or {@code psql}; {@link
 * dev.backstop.postgres.logical.RestoreDrill} proves that it restores exactly.
 */
package dev.backstop.postgres.logical;
