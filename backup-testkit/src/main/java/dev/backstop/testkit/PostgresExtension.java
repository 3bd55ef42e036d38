package dev.backstop.testkit;

import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.PostgresProvider;
import java.io.IOException;
import java.util.Objects;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

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
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
    private final PostgresProvider provider;
    private volatile PostgresInstance instance;

    /** Uses {@link PostgresProviders#auto()}; the constructor {@code @ExtendWith} needs. */
    public PostgresExtension() {
        this(PostgresProviders.auto());
    }

    private PostgresExtension(PostgresProvider provider) {
        this.provider = Objects.requireNonNull(provider, "provider");
    }

    /** An extension using {@link PostgresProviders#auto()}. */
    public static PostgresExtension create() {
        return new PostgresExtension();
    }

    /** An extension starting its server with {@code provider}. */
    public static PostgresExtension using(PostgresProvider provider) {
        return new PostgresExtension(provider);
    }

    /** The running server; only between the class's first and last test. */
    public PostgresInstance instance() {
        PostgresInstance i = instance;
        if (i == null) {
            throw new IllegalStateException("PostgresExtension: no server is running; register the extension on a static "
                    + "field and use it from tests, not from static initializers");
        }
        return i;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        if (instance == null) {
            instance = provider.start();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        PostgresInstance i = instance;
        instance = null;
        if (i != null) {
            i.close();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == PostgresInstance.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return instance();
    }
}
