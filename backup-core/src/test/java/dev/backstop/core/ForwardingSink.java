package dev.backstop.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * Forwards everything to a real sink; tests override what they break. A copy of the testkit's,
 * because backup-testkit depends on backup-core and a test-scope dependency back on it would be a cycle.
 */
public class ForwardingSink implements Sink {
    protected final Sink sink;

    public ForwardingSink(Sink sink) {
        this.sink = sink;
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
}
