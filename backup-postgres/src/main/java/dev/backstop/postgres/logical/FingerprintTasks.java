package dev.backstop.postgres.logical;

import dev.backstop.core.CaptureFailedException;
import dev.backstop.core.Fingerprints;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The server's share of a {@link PgDumpSource}'s fingerprints, run on the source's executor over
 * the snapshot's connection while {@code pg_dump} streams: a full scan ({@link
 * FingerprintMethod#SERVER}) or the plan for stream hashing; failures are named after the database.
 */
final class FingerprintTasks {
    private final String database;

    FingerprintTasks(String database) {
        this.database = database;
    }

    Fingerprints fingerprintsOf(Connection c) {
        try {
            return PgFingerprints.compute(c);
        } catch (SQLException e) {
            throw new IllegalStateException("fingerprints of database '" + database + "' failed: " + e.getMessage()
                    + " (SQLSTATE " + e.getSQLState() + ")", e);
        }
    }

    PgFingerprints.StreamPlan planOf(Connection c) {
        try {
            return PgFingerprints.planStream(c);
        } catch (SQLException e) {
            throw new IllegalStateException("fingerprints of database '" + database + "' failed: " + e.getMessage()
                    + " (SQLSTATE " + e.getSQLState() + ")", e);
        }
    }

    <T> T join(CompletableFuture<T> f) throws CaptureFailedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw new CaptureFailedException(e.getCause().getMessage(), null, null, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CaptureFailedException("interrupted while fingerprinting database '" + database + "'", null, null, e);
        }
    }

    void abortQuietly(Connection c) {
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
