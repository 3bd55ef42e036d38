package dev.backstop.postgres.physical;

import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.postgres.EphemeralPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/** The end of {@link PointInTimeRecovery#recover()}: the restored server, replaying, is promoted at its target. */
final class Promotion {
    private Promotion() {
    }

    /** Waits until {@code server} leaves recovery at {@code target}, or fails with its log's tail. */
    static void await(EphemeralPostgres server, WalBroker broker, RecoveryTarget target, Clock clock, Duration timeout)
            throws IOException {
        Instant deadline = clock.instant().plus(timeout);
        SQLException last = null;
        while (clock.instant().isBefore(deadline)) {
            if (broker != null && broker.failure() != null) {
                throw broker.failure();
            }
            if (!server.isAlive()) {
                throw new IOException("the restored server stopped before promotion (target " + target + "): " + logTail(server));
            }
            try (Connection c = server.connect("postgres"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT pg_catalog.pg_is_in_recovery()")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return;
                }
            } catch (SQLException e) {
                last = e;
            }
            try {
                Backoff.Pause.SLEEP.pause(Duration.ofMillis(50));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for promotion", e);
            }
        }
        throw new IOException("the restored server was not promoted within " + timeout + " (target " + target + ", last error "
                + (last == null ? "none" : last.getMessage()) + "): " + logTail(server));
    }

    private static String logTail(EphemeralPostgres server) throws IOException {
        Path log = server.directory().resolve("server.log");
        String tail = Files.exists(log) ? Files.readString(log) : "";
        return tail.length() > 2000 ? tail.substring(tail.length() - 2000) : tail;
    }
}
