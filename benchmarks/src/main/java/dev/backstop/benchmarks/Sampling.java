package dev.backstop.benchmarks;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Samples at a fixed interval on a scheduler thread until a condition holds or a deadline passes,
 * so that a measurement waits on its condition instead of sleeping between samples. The calling
 * thread sees everything the samples wrote once {@link #every} returns.
 */
final class Sampling implements AutoCloseable {
    /** One sample; may fail with any exception, which ends the sampling and is rethrown. */
    @FunctionalInterface
    interface Sample {
        void take() throws Exception;
    }

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    /**
     * Takes {@code sample} every {@code interval} (the first at once) until {@code done} holds after
     * a sample, or {@code timeout} passes.
     *
     * @return whether {@code done} held before the deadline
     */
    boolean every(Duration interval, Duration timeout, BooleanSupplier done, Sample sample) throws Exception {
        CompletableFuture<Boolean> finished = new CompletableFuture<>();
        ScheduledFuture<?> task = scheduler.scheduleWithFixedDelay(() -> {
            try {
                sample.take();
                if (done.getAsBoolean()) {
                    finished.complete(true);
                }
            } catch (Exception | Error e) {
                finished.completeExceptionally(e);
            }
        }, 0, interval.toNanos(), TimeUnit.NANOSECONDS);
        try {
            return finished.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        } finally {
            task.cancel(false);
            // the scheduler has one thread: this runs after a sample still in progress, which makes
            // every sample's writes visible to the caller
            scheduler.submit(() -> { }).get();
        }
    }

    /** {@link #every} that fails naming {@code what} when the deadline passes. */
    void await(String what, Duration timeout, BooleanSupplier done) throws Exception {
        if (!every(Duration.ofMillis(20), timeout, done, () -> { })) {
            throw new IllegalStateException(what + " did not happen within " + timeout);
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
