/**
 * Backstop for MariaDB and MySQL: logical capture with mariadb-dump/mysqldump at a recorded binlog
 * position, same-point fingerprints, verified restores, restore drills and throwaway servers;
 * physical backups of a whole server with mariadb-backup ({@code dev.backstop.mysql.physical});
 * continuous binlog archiving with mariadb-binlog ({@code dev.backstop.mysql.binlog}); point-in-time
 * recovery and its drills ({@code dev.backstop.mysql.recovery}).
 */
module dev.backstop.mysql {
    requires transitive dev.backstop.core;
    requires transitive java.sql;
    requires org.mariadb.jdbc;
    requires org.slf4j;
    exports dev.backstop.mysql;
    exports dev.backstop.mysql.physical;
    exports dev.backstop.mysql.binlog;
    exports dev.backstop.mysql.recovery;
}
