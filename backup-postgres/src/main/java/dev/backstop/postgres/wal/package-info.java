/**
 * The WAL archive of a cluster in a repository: {@link dev.backstop.postgres.wal.WalArchive}
 * stores and serves segments, partial segments and timeline history files; {@link
 * dev.backstop.postgres.wal.WalReceiver} streams WAL into it over the replication protocol, and
 * {@link dev.backstop.postgres.wal.WalSpool} queues what {@code archive_command} hands over
 * ({@code backstop wal} in backup-cli serves {@code archive_command} and {@code restore_command}).
 */
package dev.backstop.postgres.wal;
