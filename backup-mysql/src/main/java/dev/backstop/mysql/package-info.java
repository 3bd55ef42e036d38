/**
 * MariaDB and MySQL logical backups: {@link dev.backstop.mysql.MariaDbDumpSource} captures one
 * database with {@code mariadb-dump}/{@code mysqldump} and fingerprints it at the dump's binlog
 * position ({@link dev.backstop.mysql.MariaDbFingerprints}), {@link dev.backstop.mysql.MariaDbRestore}
 * restores it verified, {@link dev.backstop.mysql.MariaDbRestoreDrill} proves it restores exactly, and
 * {@link dev.backstop.mysql.EphemeralMariaDb} runs throwaway servers for drills and tests.
 */
package dev.backstop.mysql;
