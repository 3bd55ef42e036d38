/**
 * Physical backups of a whole cluster and their recovery: {@link
 * dev.backstop.postgres.physical.DataDirectorySource} (reads the data directory itself) and {@link
 * dev.backstop.postgres.physical.BaseBackupSource} ({@code pg_basebackup}) capture it, from the
 * primary or a standby; {@link dev.backstop.postgres.physical.PointInTimeRecovery} restores one into
 * a fresh server and replays archived WAL up to a {@link
 * dev.backstop.postgres.physical.RecoveryTarget}; {@link
 * dev.backstop.postgres.physical.PhysicalRestoreDrill} proves a backup restores, to its consistent
 * point or to a restore point whose fingerprints {@link dev.backstop.postgres.physical.RestorePoints}
 * recorded.
 */
package dev.backstop.postgres.physical;
