package dev.backstop.testkit;

import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbInstance;
import dev.backstop.mysql.MariaDbProvider;
import java.io.IOException;
import java.util.Objects;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

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
public final class MariaDbExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
    private final MariaDbProvider provider;
    private volatile MariaDbInstance instance;

    /** Uses {@link EphemeralMariaDb}; the constructor {@code @ExtendWith} needs. */
    public MariaDbExtension() {
        this(EphemeralMariaDb::start);
    }

    private MariaDbExtension(MariaDbProvider provider) {
        this.provider = Objects.requireNonNull(provider, "provider");
    }

    /** An extension using {@link EphemeralMariaDb}. */
    public static MariaDbExtension create() {
        return new MariaDbExtension();
    }

    /** An extension starting its server with {@code provider}. */
    public static MariaDbExtension using(MariaDbProvider provider) {
        return new MariaDbExtension(provider);
    }

    /** The running server; only between the class's first and last test. */
    public MariaDbInstance instance() {
        MariaDbInstance i = instance;
        if (i == null) {
            throw new IllegalStateException("MariaDbExtension: no server is running; register the extension on a static "
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
        MariaDbInstance i = instance;
        instance = null;
        if (i != null) {
            i.close();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == MariaDbInstance.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return instance();
    }
}
