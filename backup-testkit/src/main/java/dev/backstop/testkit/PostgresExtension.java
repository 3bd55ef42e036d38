package dev.backstop.testkit;

import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.PostgresProvider;
import java.util.Objects;

/**
 * A JUnit 5 extension that gives a test class one throwaway PostgreSQL server.
 *
 * <pre>{@code
 * class MyRestoreTest {
 *     @RegisterExtension
 *     static final PostgresExtension PG = PostgresExtension.create();
 *
 *     @Test
 *     void backupRestoresExactly(PostgresInstance db) { ... }
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> The server starts before the first test of the class and is stopped and
 * deleted after the last; test methods and constructors may declare a {@link PostgresInstance}
 * parameter. Also usable as {@code @ExtendWith(PostgresExtension.class)}.
 *
 * <p><b>Restrictions.</b> Register it on a static field: one server per class.
 */
public final class PostgresExtension extends ServerExtension<PostgresInstance> {
    /** Uses {@link PostgresProviders#auto()}; the constructor {@code @ExtendWith} needs. */
    public PostgresExtension() {
        this(PostgresProviders.auto());
    }

    private PostgresExtension(PostgresProvider provider) {
        super(PostgresInstance.class, Objects.requireNonNull(provider, "provider")::start);
    }

    /** An extension using {@link PostgresProviders#auto()}. */
    public static PostgresExtension create() {
        return new PostgresExtension();
    }

    /** An extension starting its server with {@code provider}. */
    public static PostgresExtension using(PostgresProvider provider) {
        return new PostgresExtension(provider);
    }
}
