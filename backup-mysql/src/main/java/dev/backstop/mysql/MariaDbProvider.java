package dev.backstop.mysql;

import java.io.IOException;

/**
 * Starts throwaway MariaDB/MySQL servers: {@link EphemeralMariaDb} from local binaries, or a
 * container-based one where Docker exists.
 *
 * <p><b>Threading.</b> Implementations are thread-safe; each call starts a new server.
 */
@FunctionalInterface
public interface MariaDbProvider {

    /** Starts a new server; the caller closes it. */
    MariaDbInstance start() throws IOException;
}
