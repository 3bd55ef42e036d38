/**
 * Physical MariaDB backups with {@code mariadb-backup}: {@link
 * dev.backstop.mysql.physical.MariaDbBackupSource} streams a whole server's copy at a recorded
 * {@link dev.backstop.mysql.physical.BinlogPoint}, {@link
 * dev.backstop.mysql.physical.MariaDbPhysicalRestore} extracts, prepares and starts or places it,
 * and {@link dev.backstop.mysql.physical.MariaDbPhysicalDrill} proves it restores.
 */
package dev.backstop.mysql.physical;
