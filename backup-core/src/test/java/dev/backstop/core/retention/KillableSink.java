package dev.backstop.core.retention;

import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.ObjectLockedException;
import dev.backstop.core.Sink;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real sink that dies after a given number of deletes (a process killed mid-expiry) and
 * refuses to delete keys under "object lock".
 */
final class KillableSink implements Sink {
    private final Sink delegate;
    private volatile int deletesLeft = Integer.MAX_VALUE;
    final Set<String> locked = ConcurrentHashMap.newKeySet();

    KillableSink(Sink delegate) {
        this.delegate = delegate;
    }

    void killAfterDeletes(int n) {
        deletesLeft = n;
    }

    void revive() {
        deletesLeft = Integer.MAX_VALUE;
    }

    @Override
    public Upload create(String key, ObjectKind kind) throws IOException {
        if (deletesLeft <= 0) {
            throw new IOException("killed");
        }
        return delegate.create(key, kind);
    }

    @Override
    public InputStream open(String key) throws IOException {
        return delegate.open(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
        return delegate.list(prefix);
    }

    @Override
    public synchronized void delete(String key) throws IOException {
        if (locked.contains(key)) {
            throw new ObjectLockedException(key, Instant.parse("2030-01-01T00:00:00Z"), null);
        }
        if (deletesLeft <= 0) {
            throw new IOException("killed before deleting " + key);
        }
        deletesLeft--;
        delegate.delete(key);
    }
}
