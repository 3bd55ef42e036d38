package dev.backstop.mysql;

import dev.backstop.core.CaptureFailedException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The FLOAT check of a {@link MariaDbDumpSource} capture: looking for FLOAT values the dump writes
 * with too few digits, on the capture's connection while the dump runs, and leaving that
 * connection in order when the capture fails.
 */
final class LossyFloatCheck {
    private final String database;

    LossyFloatCheck(String database) {
        this.database = database;
    }

    List<String> lossyFloatColumns(Connection c) {
        try {
            return SourceSession.lossyFloatColumns(c, database);
        } catch (SQLException e) {
            throw new IllegalStateException("the FLOAT check of database '" + database + "' failed: " + e.getMessage()
                    + " (error " + e.getErrorCode() + ", SQLSTATE " + e.getSQLState() + ")", e);
        }
    }

    <T> T join(CompletableFuture<T> f) throws CaptureFailedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            boolean retryable = cause.getCause() instanceof SQLException s && ServerErrors.retryable(s);
            throw new CaptureFailedException(cause.getMessage(), null, null, cause, retryable);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
                throw new CaptureFailedException("interrupted while checking the FLOAT columns of database '" + database + "'",
                    null, null, e);
        }
    }

    static void abortQuietly(Connection c) {
        try {
            c.abort(Runnable::run);
        } catch (SQLException | RuntimeException ignored) {
            // the capture already failed; closing is all that is left to do
        }
    }

    /** Waits for a fingerprint run to leave the shared connection before it is closed. */
    static void awaitQuietly(CompletableFuture<?> f) {
        try {
            f.exceptionally(t -> null).get();
        } catch (Exception ignored) {
            // the capture already failed; this only orders the connection's close
        }
    }
}
