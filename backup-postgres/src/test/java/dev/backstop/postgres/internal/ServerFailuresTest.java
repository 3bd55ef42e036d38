package dev.backstop.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.sql.SQLException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ServerFailuresTest {

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        "true |pg_dump: error: connection to server at \"127.0.0.1\", port 5433 failed: Connection refused",
        "true |pg_dump: error: connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  the database system is starting up",
        "true |pg_dump: error: connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  the database system is shutting down",
        "true |pg_dump: error: query failed: server closed the connection unexpectedly",
        "true |pg_dump: error: query failed: ERROR:  invalid snapshot identifier: \"00000003-00000002-1\"",
        "false|pg_dump: error: connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  password authentication failed for user \"postgres\"",
        "false|pg_dump: error: connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  database \"shop\" does not exist",
        "false|pg_dump: error: connection to server at \"10.0.0.9\", port 5432 failed: FATAL:  no pg_hba.conf entry for host \"10.0.0.1\"",
        "false|pg_dump: error: query failed: ERROR:  permission denied for table orders",
        "false|''"})
    void libpqStderr_isRetryableOnlyWhenTheServerOrTheSnapshotExporterWasAway(boolean retryable, String stderr) {
        assertThat(ServerFailures.retryable(stderr)).isEqualTo(retryable);
    }

    @ParameterizedTest(name = "SQLSTATE {0}")
    @CsvSource({"08001,true", "08006,true", "57P01,true", "57P03,true", "28P01,false", "28000,false", "3D000,false",
            "42501,false"})
    void sqlState_decidesJdbcFailures(String state, boolean retryable) {
        SQLException e = new SQLException("failure", state, new ConnectException("ignored: the state decides"));
        assertThat(ServerFailures.retryable(e)).isEqualTo(retryable);
    }
}
