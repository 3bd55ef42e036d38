/**
 * The WAL archive of a cluster in a repository: {@link dev.backstop.postgres.wal.WalArchive}
 * stores and serves segments, partial segments and timeline history files; {@link
 * dev.backstop.postgres.wal.WalReceiver} streams WAL into it over the replication protocol, and
 * {@link dev.backstop.postgres.wal.WalSpool} serves the {@code backstop wal} commands behind
 * {@code archive_command} and {@code restore_command}.
 */
package dev.backstop.postgres.wal;
