package dev.backstop.cli;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** A scheduled executor that runs nothing until told: {@link #runDue()} runs what the clock says is due, on the caller's thread. */
final class ManualExecutor extends AbstractExecutorService implements ScheduledExecutorService {
    private final Clock clock;
    private final List<Task<?>> tasks = new ArrayList<>();
    private boolean shutdown;

    ManualExecutor(Clock clock) {
        this.clock = clock;
    }

    /** Runs every task due at the clock's instant (including ones scheduled by them, if due); returns how many ran. */
    int runDue() {
        int n = 0;
        while (true) {
            Task<?> next;
            synchronized (this) {
                Instant now = clock.instant();
                tasks.removeIf(Task::isDone);
                next = tasks.stream().filter(t -> !t.due.isAfter(now)).min(Comparator.comparing(t -> t.due)).orElse(null);
                if (next == null) {
                    return n;
                }
                tasks.remove(next);
            }
            next.run();
            n++;
        }
    }

    synchronized int pending() {
        tasks.removeIf(Task::isDone);
        return tasks.size();
    }

    private synchronized <V> Task<V> add(Task<V> t) {
        if (shutdown) {
            throw new java.util.concurrent.RejectedExecutionException("shut down");
        }
        tasks.add(t);
        return t;
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        return add(new Task<>(() -> {
            command.run();
            return null;
        }, clock.instant().plusMillis(unit.toMillis(delay))));
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        return add(new Task<>(callable, clock.instant().plusMillis(unit.toMillis(delay))));
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void execute(Runnable command) {
        schedule(command, 0, TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void shutdown() {
        shutdown = true;
    }

    @Override
    public synchronized List<Runnable> shutdownNow() {
        shutdown = true;
        List<Runnable> left = new ArrayList<>(tasks);
        tasks.clear();
        return left;
    }

    @Override
    public synchronized boolean isShutdown() {
        return shutdown;
    }

    @Override
    public synchronized boolean isTerminated() {
        return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return true;
    }

    private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
        final Instant due;

        Task(Callable<V> callable, Instant due) {
            super(callable);
            this.due = due;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(due.toEpochMilli() - clock.millis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(getDelay(TimeUnit.MILLISECONDS), o.getDelay(TimeUnit.MILLISECONDS));
        }
    }
}
