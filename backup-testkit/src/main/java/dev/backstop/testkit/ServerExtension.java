package dev.backstop.testkit;

import java.io.IOException;
import java.util.Objects;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * The base of the testkit's extensions that give a test class one throwaway server: started
 * before the class's first test, closed after its last, and handed to parameters of its type.
 *
 * @param <I> the server's type, which test methods and constructors may declare as a parameter
 */
abstract class ServerExtension<I extends AutoCloseable> implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
    /** Starts one server. */
    @FunctionalInterface
    interface Start<I> {
        I start() throws IOException;
    }

    private final Class<I> type;
    private final Start<I> start;
    private volatile I instance;

    ServerExtension(Class<I> type, Start<I> start) {
        this.type = Objects.requireNonNull(type, "type");
        this.start = Objects.requireNonNull(start, "start");
    }

    /** The running server; only between the class's first and last test. */
    public I instance() {
        I i = instance;
        if (i == null) {
            throw new IllegalStateException(getClass().getSimpleName() + ": no server is running; register the extension on a "
                    + "static field and use it from tests, not from static initializers");
        }
        return i;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        if (instance == null) {
            instance = start.start();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        I i = instance;
        instance = null;
        if (i != null) {
            i.close();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == type;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return instance();
    }
}
