package dev.backstop.testkit;

import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Objects;

/**
 * A {@link Sink} that forwards every call to a real one; a test overrides the calls it breaks
 * (a failing create, a slow open, a truncating read) and keeps the rest real.
 *
 * <p><b>Sample.</b>
 * <pre>{@code
 * Sink flaky = new ForwardingSink(real) {
 *     public Upload create(String key, ObjectKind kind) throws IOException {
 *         if (left.getAndDecrement() > 0) throw new IOException("injected: connection reset");
 *         return super.create(key, kind);
 *     }
 * };
 * }</pre>
 */
public class ForwardingSink implements Sink {
    /** The sink calls are forwarded to. */
    protected final Sink sink;

    /** Forwards to {@code sink}, which it never closes. */
    public ForwardingSink(Sink sink) {
        this.sink = Objects.requireNonNull(sink, "sink");
    }

    @Override
    public Upload create(String key, ObjectKind kind) throws IOException {
        return sink.create(key, kind);
    }

    @Override
    public InputStream open(String key) throws IOException {
        return sink.open(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
        return sink.list(prefix);
    }

    @Override
    public void delete(String key) throws IOException {
        sink.delete(key);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + sink + "]";
    }
}
