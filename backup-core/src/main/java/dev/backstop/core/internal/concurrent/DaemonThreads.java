package dev.backstop.core.internal.concurrent;

import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Creates named daemon threads: the one place Backstop's library code constructs a {@link Thread}.
 * Daemon, so a thread Backstop started never keeps a JVM alive that its application wants to end.
 *
 * <p><b>Threading.</b> Thread-safe; holds no threads itself, so there is nothing to close.
 */
public final class DaemonThreads implements ThreadFactory {
    private final String name;
    private final boolean numbered;
    private final AtomicInteger count = new AtomicInteger();

    private DaemonThreads(String name, boolean numbered) {
        this.name = Objects.requireNonNull(name, "name");
        this.numbered = numbered;
    }

    /** Threads named {@code prefix + "-" + n}, n counting from 1 per factory. */
    public static DaemonThreads numbered(String prefix) {
        return new DaemonThreads(prefix, true);
    }

    /** Threads all named {@code name}, for a role that has one thread at a time. */
    public static DaemonThreads named(String name) {
        return new DaemonThreads(name, false);
    }

    @Override
    public Thread newThread(Runnable task) {
        Thread t = new Thread(task, numbered ? name + "-" + count.incrementAndGet() : name);
        t.setDaemon(true);
        return t;
    }

    /**
     * Creates a thread for {@code task} and starts it; the task runs with the caller's log context
     * (see {@link LogContext#propagate}).
     */
    public Thread start(Runnable task) {
        Thread t = newThread(LogContext.propagate(task));
        t.start();
        return t;
    }

    /**
     * An executor that runs each task on a fresh thread of {@code threads}, gone when the task ends.
     * Holds no threads, so nothing is left to shut down when its owner is done. Each task runs with
     * the log context of the thread that submitted it (see {@link LogContext#propagate}).
     */
    public static Executor threadPerTask(ThreadFactory threads) {
        Objects.requireNonNull(threads, "threads");
        return task -> threads.newThread(LogContext.propagate(task)).start();
    }
}
