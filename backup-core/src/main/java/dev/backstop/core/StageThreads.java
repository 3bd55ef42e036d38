package dev.backstop.core;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/** The default executor for pipeline stages: one daemon thread per task, gone when it ends. */
final class StageThreads implements Executor {
    static final StageThreads INSTANCE = new StageThreads();
    private final AtomicInteger count = new AtomicInteger();

    private StageThreads() {
    }

    @Override
    public void execute(Runnable task) {
        Thread t = new Thread(task, "backstop-stage-" + count.incrementAndGet());
        t.setDaemon(true);
        t.start();
    }
}
