package dev.backstop.postgres;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One throwaway PostgreSQL server for a test class, set up once before its first test and
 * deleted after its last: the integration tests' shared fixture.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final SharedPostgres pg = SharedPostgres.withShop("shop", 2000);
 * }</pre>
 *
 * Register it on a static field. It answers the server's own calls ({@link #endpoint()},
 * {@link #connect}, ...) between the first and the last test; {@link #server()} for the rest.
 */
// public for the tests of the physical and wal packages; the JUnit types it shows never reach the module's API
@SuppressWarnings("exports")
public final class SharedPostgres implements BeforeAllCallback, AfterAllCallback {
    /** What a test class loads into its server, once. */
    @FunctionalInterface
    public interface Setup {
        void on(EphemeralPostgres server) throws Exception;
    }

    private final Setup setup;
    private volatile EphemeralPostgres server;

    private SharedPostgres(Setup setup) {
        this.setup = setup;
    }

    /** A server that {@code setup} loads once. */
    public static SharedPostgres with(Setup setup) {
        return new SharedPostgres(setup);
    }

    /** A server with nothing loaded. */
    public static SharedPostgres empty() {
        return new SharedPostgres(s -> { });
    }

    /** A server with database {@code name} holding the {@link Shop} sample of {@code customers} customers. */
    public static SharedPostgres withShop(String name, int customers) {
        return new SharedPostgres(s -> {
            s.createDatabase(name);
            try (Connection c = s.connect(name)) {
                Shop.create(c, customers);
            }
        });
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        EphemeralPostgres s = EphemeralPostgres.start();
        try {
            setup.on(s);
        } catch (Exception | Error e) {
            s.close();
            throw e;
        }
        server = s;
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        EphemeralPostgres s = server;
        server = null;
        if (s != null) {
            s.close();
        }
    }

    /** The running server. */
    public EphemeralPostgres server() {
        EphemeralPostgres s = server;
        if (s == null) {
            throw new IllegalStateException("SharedPostgres: no server is running; register it on a static field and "
                    + "use it from tests");
        }
        return s;
    }

    public PgEndpoint endpoint() {
        return server().endpoint();
    }

    public Connection connect(String database) throws SQLException {
        return server().connect(database);
    }

    public void createDatabase(String name) throws SQLException {
        server().createDatabase(name);
    }

    public String version() {
        return server().version();
    }
}
