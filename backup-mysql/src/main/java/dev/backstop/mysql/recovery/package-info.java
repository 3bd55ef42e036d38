/**
 * Point-in-time recovery of MariaDB: {@link dev.backstop.mysql.recovery.BinlogRecovery} restores
 * a logical or physical backup and replays the archived binlogs from the backup's point to a
 * {@link dev.backstop.mysql.recovery.RecoveryTarget} (a position, a GTID, a time or the latest
 * archived transaction) in one session ({@link dev.backstop.mysql.recovery.BinlogReplay});
 * {@link dev.backstop.mysql.recovery.RecoveryCheckpoint} holds fingerprints of the source at a
 * known binlog position, {@link dev.backstop.mysql.recovery.RecoveryCheckpoints} records them in
 * the repository under a name, and {@link dev.backstop.mysql.recovery.MariaDbPitrDrill} proves that
 * a backup and the archive recover to exactly that state.
 */
package dev.backstop.mysql.recovery;
