/**
 * Backstop for PostgreSQL: logical capture with pg_dump inside an exported snapshot, restore with
 * pg_restore or psql, restore drills against throwaway servers, and fingerprints that prove a
 * restore is exact.
 */
module dev.backstop.postgres {
    requires transitive dev.backstop.core;
    requires transitive java.sql;
    requires org.postgresql.jdbc;
    requires org.apache.commons.compress;
    requires com.fasterxml.jackson.databind;
    // com.sun.nio.file.ExtendedOpenOption.DIRECT: restores write the cluster's files with O_DIRECT
    requires jdk.unsupported;
    exports dev.backstop.postgres;
    exports dev.backstop.postgres.physical;
    exports dev.backstop.postgres.wal;
}
