package dev.backstop.testkit;

import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbInstance;
import dev.backstop.mysql.MariaDbProvider;
import java.util.Objects;

/**
 * A JUnit 5 extension that gives a test class one throwaway MariaDB server.
 *
 * <pre>{@code
 * class MyRestoreTest {
 *     @RegisterExtension
 *     static final MariaDbExtension DB = MariaDbExtension.create();
 *
 *     @Test
 *     void backupRestoresExactly(MariaDbInstance db) { ... }
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> The server ({@link EphemeralMariaDb} by default: binary log on, loopback
 * only) starts before the first test of the class and is stopped and deleted after the last; test
 * methods and constructors may declare a {@link MariaDbInstance} parameter. Also usable as
 * {@code @ExtendWith(MariaDbExtension.class)}.
 *
 * <p><b>Restrictions.</b> Register it on a static field: one server per class.
 */
public final class MariaDbExtension extends ServerExtension<MariaDbInstance> {
    /** Uses {@link EphemeralMariaDb}; the constructor {@code @ExtendWith} needs. */
    public MariaDbExtension() {
        this(EphemeralMariaDb::start);
    }

    private MariaDbExtension(MariaDbProvider provider) {
        super(MariaDbInstance.class, Objects.requireNonNull(provider, "provider")::start);
    }

    /** An extension using {@link EphemeralMariaDb}. */
    public static MariaDbExtension create() {
        return new MariaDbExtension();
    }

    /** An extension starting its server with {@code provider}. */
    public static MariaDbExtension using(MariaDbProvider provider) {
        return new MariaDbExtension(provider);
    }
}
