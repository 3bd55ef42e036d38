package dev.backstop.postgres.internal;

import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Which failures to reach PostgreSQL are worth retrying: the server was unreachable, shutting down
 * or starting up (it may be back in a minute), as opposed to a wrong password, a missing database
 * or role, or a refused {@code pg_hba.conf} entry, which stay wrong until someone changes them.
 * A pg_dump that joins a snapshot exported by a connection which has since died fails with
 * "invalid snapshot identifier": the source, not the request, failed, and a new attempt exports a
 * new snapshot, so that is retryable too.
 * Judged from JDBC's SQLSTATE and from the libpq tools' stderr, whose messages are the server's
 * (English unless {@code lc_messages} says otherwise; anything unrecognised is not retryable).
 */
public final class ServerFailures {
    /**
     * Connection failures (08001 cannot connect, 08006 connection lost, 08003 no connection),
     * shutdowns (57P01 administrator, 57P02 crash) and 57P03 cannot connect now (starting up, in
     * recovery), 53300 too many connections.
     */
    private static final Set<String> RETRYABLE_STATES = Set.of("08001", "08003", "08006", "57P01", "57P02", "57P03", "53300");
    private static final List<String> RETRYABLE_MESSAGES = List.of(
            "connection refused",
            "the database system is shutting down",
            "the database system is starting up",
            "the database system is in recovery mode",
            "the database system is not yet accepting connections",
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly",
            "is the server running",
            "too many clients already",
            // the exporting connection died (killed, or lost with its server) before pg_dump joined its snapshot
            "invalid snapshot identifier");
    private static final List<String> PERMANENT_MESSAGES = List.of(
            "password authentication failed",
            "authentication failed",
            "no pg_hba.conf entry",
            "does not exist",
            "permission denied",
            "no password supplied");

    private ServerFailures() {
    }

    /** Whether {@code e}, or an SQL exception among its causes, has a retryable SQLSTATE. */
    public static boolean retryable(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null) {
                return RETRYABLE_STATES.contains(s.getSQLState());
            }
        }
        return false;
    }

    /**
     * Whether a libpq tool's stderr shows a retryable failure: one of the retryable messages and
     * none of the permanent ones.
     */
    public static boolean retryable(String stderr) {
        if (stderr == null) {
            return false;
        }
        String s = stderr.toLowerCase(Locale.ROOT);
        return RETRYABLE_MESSAGES.stream().anyMatch(s::contains) && PERMANENT_MESSAGES.stream().noneMatch(s::contains);
    }
}
