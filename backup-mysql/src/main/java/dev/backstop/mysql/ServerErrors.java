package dev.backstop.mysql;

import java.sql.SQLException;
import java.util.Locale;
import java.util.Set;

/**
 * Which failures to reach MariaDB/MySQL are worth retrying: the server was unreachable, restarting
 * or out of connections, or the connection dropped, as opposed to a wrong password or a missing
 * database, which stay wrong until someone changes them. Judged from JDBC error codes and
 * SQLSTATEs, and from the client programs' stderr.
 */
final class ServerErrors {
    /**
     * Too many connections, shutdown in progress, server gone away, lost connection, cannot
     * connect, connection killed, and a table altered under a consistent snapshot (1412).
     */
    private static final Set<Integer> RETRYABLE_CODES = Set.of(1040, 1053, 2002, 2003, 2006, 2013, 1927, 1412);
    private static final Set<Integer> PERMANENT_CODES = Set.of(1044, 1045, 1049, 1698);

    private ServerErrors() {
    }

    static boolean retryable(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException s) {
                if (PERMANENT_CODES.contains(s.getErrorCode())) {
                    return false;
                }
                if (RETRYABLE_CODES.contains(s.getErrorCode()) || (s.getSQLState() != null && s.getSQLState().startsWith("08"))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether a client program's stderr shows a retryable failure. */
    static boolean retryable(String stderr) {
        if (stderr == null) {
            return false;
        }
        String s = stderr.toLowerCase(Locale.ROOT);
        if (s.contains("access denied") || s.contains("unknown database")) {
            return false;
        }
        return s.contains("lost connection") || s.contains("gone away") || s.contains("can't connect")
                || s.contains("connection refused") || s.contains("too many connections") || s.contains("shutdown in progress")
                || s.contains("table definition has changed");
    }

    /** A sentence saying why connecting to {@code database} failed, naming the setting to check. */
    static String describeConnect(SQLException e, MariaDbEndpoint endpoint, String database) {
        String hint = switch (e.getErrorCode()) {
            case 1045, 1698 -> "; check the endpoint's user and password";
            case 1044 -> "; grant the user access to database '" + database + "'";
            case 1049 -> "; database '" + database + "' does not exist on that server";
            default -> "";
        };
        return "could not connect to database '" + database + "' at " + endpoint + ": " + e.getMessage() + " (error "
                + e.getErrorCode() + ", SQLSTATE " + e.getSQLState() + ")" + hint;
    }
}
