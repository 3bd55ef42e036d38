package dev.backstop.cli;

import dev.backstop.core.internal.concurrent.DaemonThreads;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * SIGTERM for a command that runs in the foreground until stopped: a JVM shutdown hook that runs
 * the command's stop action once, then lets the command's waiting thread go on. Closing removes
 * the hook, so a command that ends on its own (a receiver that failed) does not run its stop
 * action a second time at exit.
 */
final class StopSignal implements AutoCloseable {
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Thread hook;

    private StopSignal(String threadName, Runnable onStop) {
        this.hook = DaemonThreads.named(threadName).newThread(() -> {
            try {
                onStop.run();
            } finally {
                stopped.countDown();
            }
        });
    }

    /** Installs the hook; {@code onStop} runs on the JVM's shutdown, on a thread named {@code threadName}. */
    static StopSignal install(String threadName, Runnable onStop) {
        StopSignal s = new StopSignal(threadName, onStop);
        Runtime.getRuntime().addShutdownHook(s.hook);
        return s;
    }

    /** Waits up to {@code millis} for the stop action to have run; true if it has. */
    boolean awaitStop(long millis) throws InterruptedException {
        return stopped.await(millis, TimeUnit.MILLISECONDS);
    }

    /** Waits until the stop action has run. */
    void awaitStop() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook is running or has run
        }
    }
}
