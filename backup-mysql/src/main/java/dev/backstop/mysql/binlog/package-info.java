/**
 * Continuous archiving of MariaDB binary logs: {@link dev.backstop.mysql.binlog.BinlogArchive}
 * names and checks binlog files on top of core's log archive ({@code dev.backstop.core.log}), and
 * {@link dev.backstop.mysql.binlog.BinlogReceiver} follows a server with {@code mariadb-binlog},
 * archiving each completed file and reporting its {@link dev.backstop.mysql.binlog.BinlogRpo}.
 */
package dev.backstop.mysql.binlog;
