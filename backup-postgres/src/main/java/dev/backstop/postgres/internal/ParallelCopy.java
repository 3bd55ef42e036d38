package dev.backstop.postgres.internal;

import dev.backstop.core.internal.concurrent.LogContext;
import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Loads COPY text into tables over several sessions at once, as {@code pg_restore -j} does for a
 * seekable archive, but from one sequential stream: each table's rows are cut into line-aligned
 * slices and each slice goes to the least busy session, so even one big table is loaded by every
 * session. Row order within a table is not kept (a table has none).
 *
 * <p>Memory is bounded by a fixed pool of slice buffers (plus, transiently, one row longer than
 * a slice). The sessions are the caller's; {@link #close()} ends their COPYs but never closes them.
 */
public final class ParallelCopy implements AutoCloseable {
    private static final int SLICE = 1 << 20;
    private static final int QUEUE = 2;

    private final List<Worker> workers = new ArrayList<>();
    private final BlockingQueue<byte[]> pool;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private boolean closed;

    /** A slice of rows, or (bytes null) the end of a table, after which {@code loaded} counts down. */
    private record Slice(String copyStmt, byte[] bytes, int length, TableEnd loaded) {
        Slice(String copyStmt, byte[] bytes, int length) {
            this(copyStmt, bytes, length, null);
        }
    }

    /** Runs {@code then} once every session has ended its COPY of the table. */
    private record TableEnd(java.util.concurrent.atomic.AtomicInteger sessionsLeft, Runnable then) {
    }

    private static final Slice END = new Slice(null, null, 0);

    /**
     * Starts one loading thread per session, made by {@code threads}; each session gets the
     * settings pg_restore uses.
     */
    public ParallelCopy(List<Connection> sessions, RoleThreads threads) throws SQLException {
        this.pool = new ArrayBlockingQueue<>(sessions.size() * (QUEUE + 1) + 1);
        for (int i = 0; i < sessions.size() * (QUEUE + 1) + 1; i++) {
            pool.add(new byte[SLICE]);
        }
        for (Connection c : sessions) {
            try (Statement st = c.createStatement()) {
                // as pg_restore: a policy must not silently filter what is loaded, and nothing to wait for
                st.execute("SET row_security = off");
                st.execute("SET statement_timeout = 0");
                st.execute("SET lock_timeout = 0");
                st.execute("SELECT pg_catalog.set_config('search_path', '', false)");
            }
            c.setAutoCommit(true);
        }
        for (int i = 0; i < sessions.size(); i++) {
            Worker w = new Worker(sessions.get(i), threads.named("backstop-copy-" + i));
            workers.add(w);
            w.thread.start();
        }
    }

    /**
     * Loads one table's COPY text (rows ending in newlines) with {@code copyStmt}; returns when all of
     * it is handed to the sessions, which may still be loading. {@code loaded} runs, on a loading
     * thread, once every session has committed its part of the table; never after a failure.
     */
    public void load(String copyStmt, InputStream data, Runnable loaded) throws IOException {
        byte[] buf = take();
        int filled = 0;
        while (true) {
            if (filled == buf.length) {
                int cut = lastNewline(buf, filled);
                if (cut < 0) {
                    // one row longer than a slice: grow this buffer until the row ends
                    byte[] longer = java.util.Arrays.copyOf(buf, buf.length * 2);
                    recycle(buf);
                    buf = longer;
                } else {
                    byte[] next = take();
                    int rest = filled - cut;
                    System.arraycopy(buf, cut, next, 0, rest);
                    dispatch(new Slice(copyStmt, buf, cut));
                    buf = next;
                    filled = rest;
                }
            }
            int r = data.read(buf, filled, buf.length - filled);
            if (r < 0) {
                break;
            }
            filled += r;
        }
        if (filled > 0) {
            dispatch(new Slice(copyStmt, buf, filled));
        } else {
            recycle(buf);
        }
        TableEnd end = new TableEnd(new java.util.concurrent.atomic.AtomicInteger(workers.size()), loaded);
        for (Worker w : workers) {
            put(w, new Slice(copyStmt, null, 0, end));
        }
    }

    /** Ends every session's COPY and waits for them; throws if any part of the load failed. */
    public void finish() throws IOException {
        close();
        rethrow();
    }

    private static int lastNewline(byte[] b, int len) {
        for (int i = len - 1; i >= 0; i--) {
            if (b[i] == '\n') {
                return i + 1;
            }
        }
        return -1;
    }

    private byte[] take() throws IOException {
        try {
            while (true) {
                rethrow();
                byte[] b = pool.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (b != null) {
                    return b;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while loading table data");
        }
    }

    private void recycle(byte[] b) {
        if (b.length == SLICE) {
            pool.offer(b);
        }
    }

    private void dispatch(Slice s) throws IOException {
        rethrow();
        Worker best = workers.get(0);
        for (Worker w : workers) {
            if (w.queue.size() < best.queue.size()) {
                best = w;
            }
        }
        put(best, s);
    }

    private static void put(Worker w, Slice s) throws IOException {
        try {
            w.queue.put(s);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while loading table data");
        }
    }

    private void rethrow() throws IOException {
        Throwable t = failure.get();
        if (t != null) {
            throw new IOException("loading table data failed: " + t.getMessage(), t);
        }
    }

    /** Ends the sessions' COPYs (cancelling them after a failure) and stops the threads. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Worker w : workers) {
            try {
                w.queue.put(END);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                w.thread.interrupt();
            }
        }
        for (Worker w : workers) {
            try {
                w.thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private final class Worker {
        final BlockingQueue<Slice> queue = new ArrayBlockingQueue<>(QUEUE);
        final Connection session;
        final Thread thread;
        CopyIn copy;
        String current;

        Worker(Connection session, java.util.concurrent.ThreadFactory threads) {
            this.session = session;
            this.thread = threads.newThread(LogContext.propagate(this::run));
        }

        void run() {
            while (true) {
                Slice s;
                try {
                    s = queue.take();
                } catch (InterruptedException e) {
                    failure.compareAndSet(null, e);
                    cancel();
                    return;
                }
                if (s == END) {
                    if (failure.get() == null) {
                        try {
                            endCopy();
                        } catch (SQLException e) {
                            failure.compareAndSet(null, e);
                        }
                    }
                    cancel();
                    return;
                }
                try {
                    if (failure.get() == null) {
                        if (s.loaded() != null) {
                            endTable(s);
                        } else {
                            write(s);
                        }
                    }
                } catch (SQLException | RuntimeException e) {
                    failure.compareAndSet(null, e);
                    cancel();
                } finally {
                    if (s.bytes() != null) {
                        recycle(s.bytes());
                    }
                }
            }
        }

        private void write(Slice s) throws SQLException {
            if (!s.copyStmt().equals(current)) {
                endCopy();
                copy = session.unwrap(PGConnection.class).getCopyAPI().copyIn(s.copyStmt());
                current = s.copyStmt();
            }
            copy.writeToCopy(s.bytes(), 0, s.length());
        }

        private void endTable(Slice s) throws SQLException {
            if (s.copyStmt().equals(current)) {
                endCopy();
            }
            if (s.loaded().sessionsLeft().decrementAndGet() == 0 && s.loaded().then() != null && failure.get() == null) {
                s.loaded().then().run();
            }
        }

        private void endCopy() throws SQLException {
            if (copy != null) {
                copy.endCopy();
                copy = null;
                current = null;
            }
        }

        private void cancel() {
            if (copy != null) {
                try {
                    if (copy.isActive()) {
                        copy.cancelCopy();
                    }
                } catch (SQLException ignored) {
                    // the load has failed already; that failure is the one to report
                }
                copy = null;
            }
        }
    }
}
