/**
 * Backstop for PostgreSQL. {@code dev.backstop.postgres} holds what every path shares (endpoints,
 * TLS, client tools, throwaway servers); {@code dev.backstop.postgres.logical} captures one
 * database with pg_dump inside an exported snapshot, restores it with pg_restore or psql and
 * proves the restore exact with fingerprints and drills; {@code dev.backstop.postgres.physical}
 * backs up whole clusters and recovers them to a point in time from the WAL archive in {@code
 * dev.backstop.postgres.wal}. {@code dev.backstop.postgres.internal} is not exported.
 */
module dev.backstop.postgres {
    requires transitive dev.backstop.core;
    requires transitive java.sql;
    requires org.postgresql.jdbc;
    requires org.apache.commons.compress;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;
    // com.sun.nio.file.ExtendedOpenOption.DIRECT: restores write the cluster's files with O_DIRECT
    requires jdk.unsupported;
    exports dev.backstop.postgres;
    exports dev.backstop.postgres.logical;
    exports dev.backstop.postgres.physical;
    exports dev.backstop.postgres.wal;
}
