package dev.backstop.postgres.physical;

import dev.backstop.core.Fingerprints;
import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.logical.PgFingerprints;
import java.sql.Connection;

/** Fingerprints of one database in one REPEATABLE READ transaction, for tests. */
final class Prints {
    private Prints() {
    }

    static Fingerprints of(PostgresInstance pg, String database) throws Exception {
        try (Connection c = pg.connect(database)) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                return PgFingerprints.compute(c);
            } finally {
                c.rollback();
            }
        }
    }
}
