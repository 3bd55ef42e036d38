/**
 * What the logical and the physical paths share: where a server is ({@link
 * dev.backstop.postgres.PgEndpoint}, with {@link dev.backstop.postgres.PgTls} and {@link
 * dev.backstop.postgres.SslMode}), which client and server programs run ({@link
 * dev.backstop.postgres.PgTools}), and throwaway servers for drills and recovery ({@link
 * dev.backstop.postgres.EphemeralPostgres}, {@link dev.backstop.postgres.PostgresProvider},
 * {@link dev.backstop.postgres.PostgresInstance}, {@link dev.backstop.postgres.ServerTls}).
 *
 * <p>Logical backups are in {@code dev.backstop.postgres.logical}, physical backups and
 * point-in-time recovery in {@code dev.backstop.postgres.physical}, the WAL archive in {@code
 * dev.backstop.postgres.wal}.
 */
package dev.backstop.postgres;
