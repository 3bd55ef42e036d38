package dev.backstop.postgres;

import java.io.IOException;

/**
 * Starts throwaway PostgreSQL servers: {@link EphemeralPostgres} from local binaries, or a
 * container-based one from the testkit when Docker exists.
 *
 * <p><b>Threading.</b> Implementations are thread-safe; each call starts a new server.
 */
@FunctionalInterface
public interface PostgresProvider {

    /** Starts a new server; the caller closes it. */
    PostgresInstance start() throws IOException;
}
