package dev.backstop.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A scheduled executor that runs nothing until the test says so: tasks wait in a queue, and
 * {@link #runDue()} runs those the clock says are due, on the caller's thread, in order of due
 * time. With a {@link MutableClock}, a test moves time and then runs what became due, so a
 * scheduler's ticks and back-off waits take no wall-clock time and happen in a known order.
 *
 * <p><b>Guarantees.</b> {@link #execute} and {@code submit} queue a task due now; a task
 * scheduled by a running task runs in the same {@link #runDue()} call if it is due. A cancelled
 * task never runs. {@code scheduleAtFixedRate}/{@code scheduleWithFixedDelay} are not supported.
 *
 * <p><b>Threading.</b> Tasks may be queued from any thread; they run only on the thread that calls
 * {@link #runDue()} or {@link #advance}.
 *
 * <p><b>Sample.</b>
 * <pre>{@code
 * MutableClock clock = new MutableClock(Instant.parse("2026-11-21T00:00:00Z"));
 * ManualExecutor executor = new ManualExecutor(clock);
 * scheduler = BackupScheduler.builder().executor(executor).clock(clock)...build().start();
 * executor.advance(clock, Duration.ofHours(1));   // runs the tick that became due
 * }</pre>
 */
public final class ManualExecutor extends AbstractExecutorService implements ScheduledExecutorService {
    private final Clock clock;
    private final List<Task<?>> tasks = new ArrayList<>();
    private long sequence;
    private boolean shutdown;

    /** An executor whose tasks fall due by {@code clock}. */
    public ManualExecutor(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Runs every task due at the clock's instant, including ones those tasks schedule if due by
     * then; returns how many ran. A task that throws is done (its future holds the failure); the
     * others still run.
     */
    public int runDue() {
        int n = 0;
        while (true) {
            Task<?> next;
            synchronized (this) {
                Instant now = clock.instant();
                tasks.removeIf(Task::isDone);
                next = tasks.stream().filter(t -> !t.due.isAfter(now))
                        .min(Comparator.<Task<?>, Instant>comparing(t -> t.due).thenComparingLong(t -> t.order)).orElse(null);
                if (next == null) {
                    return n;
                }
                tasks.remove(next);
            }
            next.run();
            n++;
        }
    }

    /** Moves {@code clock} (the one this executor reads) by {@code d}, then {@link #runDue()}. */
    public int advance(MutableClock clock, Duration d) {
        if (clock != this.clock) {
            throw new IllegalArgumentException("advance: " + clock + " is not the clock this executor reads (" + this.clock + ")");
        }
        clock.advance(d);
        return runDue();
    }

    /** Tasks queued and neither run nor cancelled, due or not. */
    public synchronized int pending() {
        tasks.removeIf(Task::isDone);
        return tasks.size();
    }

    /** How long until the next queued task is due (zero if one is due now), or empty when none is queued. */
    public synchronized java.util.Optional<Duration> nextDueIn() {
        tasks.removeIf(Task::isDone);
        Instant now = clock.instant();
        return tasks.stream().map(t -> t.due).min(Comparator.naturalOrder())
                .map(due -> due.isAfter(now) ? Duration.between(now, due) : Duration.ZERO);
    }

    private synchronized <V> Task<V> add(Callable<V> callable, long delay, TimeUnit unit) {
        if (shutdown) {
            throw new RejectedExecutionException("executor is shut down");
        }
        Task<V> t = new Task<>(callable, clock.instant().plusNanos(Math.max(0, unit.toNanos(delay))), sequence++);
        tasks.add(t);
        return t;
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        Objects.requireNonNull(command, "command");
        return add(() -> {
            command.run();
            return null;
        }, delay, unit);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        return add(Objects.requireNonNull(callable, "callable"), delay, unit);
    }

    /** Not supported: a test schedules the next run from the task, as Backstop's schedulers do. */
    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        throw new UnsupportedOperationException("scheduleAtFixedRate is not supported by ManualExecutor");
    }

    /** Not supported: a test schedules the next run from the task, as Backstop's schedulers do. */
    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException("scheduleWithFixedDelay is not supported by ManualExecutor");
    }

    @Override
    public void execute(Runnable command) {
        schedule(command, 0, TimeUnit.NANOSECONDS);
    }

    @Override
    public synchronized void shutdown() {
        shutdown = true;
    }

    /** Stops accepting tasks and drops the queued ones, returning them unrun. */
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

    /** True once shut down: tasks run only inside {@link #runDue()}, so none is running on its own. */
    @Override
    public synchronized boolean isTerminated() {
        return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return isTerminated();
    }

    private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
        final Instant due;
        final long order;

        Task(Callable<V> callable, Instant due, long order) {
            super(callable);
            this.due = due;
            this.order = order;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(Duration.between(clock.instant(), due));
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
        }
    }
}
