/**
 * Physical backups of a whole cluster and their recovery: {@link
 * dev.backstop.postgres.physical.DataDirectorySource} (reads the data directory itself) and {@link
 * dev.backstop.postgres.physical.BaseBackupSource} ({@code pg_basebackup}) capture it; {@link
 * dev.backstop.postgres.physical.PointInTimeRecovery} restores one into a fresh server and replays
 * archived WAL up to a {@link dev.backstop.postgres.physical.RecoveryTarget}.
 */
package dev.backstop.postgres.physical;
