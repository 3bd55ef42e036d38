package dev.backstop.core.retention;

import dev.backstop.core.ForwardingSink;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.ObjectLockedException;
import dev.backstop.core.Sink;
import java.io.IOException;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real sink that dies after a given number of deletes (a process killed mid-expiry) and
 * refuses to delete keys under "object lock".
 */
final class KillableSink extends ForwardingSink {
    private volatile int deletesLeft = Integer.MAX_VALUE;
    final Set<String> locked = ConcurrentHashMap.newKeySet();

    KillableSink(Sink delegate) {
        super(delegate);
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
        return super.create(key, kind);
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
        super.delete(key);
    }
}
