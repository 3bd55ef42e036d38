package dev.backstop.core.internal.concurrent;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * Exponential back-off with jitter: the wait after the n-th consecutive failure is {@code first *
 * 2^(n-1)}, capped at {@code max}, less a random share of up to {@code jitter} of it, so that
 * callers failing together do not retry in lock step. Immutable and thread-safe.
 *
 * <p>Waiting happens through what the caller injects: {@link #schedule} hands the retry to a
 * {@link ScheduledExecutorService} (no thread blocks), and {@link #pause} blocks through the
 * {@link Pause} given to the builder, which a test replaces with one that advances its clock.
 */
public final class Backoff {
    /** Blocks the calling thread for a while; the seam through which tests wait without waiting. */
    @FunctionalInterface
    public interface Pause {
        /** Waits {@code delay}; throws when the thread is interrupted. */
        void pause(Duration delay) throws InterruptedException;

        /** Blocks the calling thread for the delay. */
        Pause SLEEP = delay -> {
            if (!delay.isNegative() && !delay.isZero()) {
                TimeUnit.NANOSECONDS.sleep(delay.toNanos());
            }
        };
    }

    private final Duration first;
    private final Duration max;
    private final double jitter;
    private final RandomGenerator random;
    private final Pause pause;

    private Backoff(Builder b) {
        this.first = b.first;
        this.max = b.max;
        this.jitter = b.jitter;
        this.random = b.random;
        this.pause = b.pause;
    }

    /** A builder starting at {@code first}, capped at {@code max}; full jitter unless told otherwise. */
    public static Builder builder(Duration first, Duration max) {
        return new Builder(first, max);
    }

    /** The wait after {@code failures} consecutive failures (1 for the first). */
    public Duration delay(int failures) {
        if (failures < 1) {
            throw new IllegalArgumentException("failures: got " + failures + ", must be >= 1");
        }
        long firstNanos = first.toNanos();
        long maxNanos = max.toNanos();
        int shift = Math.min(failures - 1, 62);
        long cap = firstNanos > (maxNanos >> shift) ? maxNanos : Math.min(maxNanos, firstNanos << shift);
        long spread = (long) (cap * jitter);
        if (spread <= 0) {
            return Duration.ofNanos(cap);
        }
        RandomGenerator r = random != null ? random : ThreadLocalRandom.current();
        return Duration.ofNanos(cap - r.nextLong(spread + 1));
    }

    /** Blocks for {@link #delay delay(failures)} through the injected {@link Pause}. */
    public Duration pause(int failures) throws InterruptedException {
        Duration d = delay(failures);
        pause.pause(d);
        return d;
    }

    /** Runs {@code retry} on {@code scheduler} after {@link #delay delay(failures)}; no thread waits. */
    public ScheduledFuture<?> schedule(ScheduledExecutorService scheduler, int failures, Runnable retry) {
        return scheduler.schedule(retry, delay(failures).toNanos(), TimeUnit.NANOSECONDS);
    }

    public Duration first() {
        return first;
    }

    public Duration max() {
        return max;
    }

    @Override
    public String toString() {
        return "Backoff[first=" + first + ", max=" + max + ", jitter=" + jitter + "]";
    }

    /** Builder for {@link Backoff}; each setting may be given once. */
    public static final class Builder {
        private final Duration first;
        private final Duration max;
        private double jitter = 1.0;
        private boolean jitterSet;
        private RandomGenerator random;
        private Pause pause = Pause.SLEEP;
        private boolean pauseSet;

        private Builder(Duration first, Duration max) {
            Objects.requireNonNull(first, "first");
            Objects.requireNonNull(max, "max");
            if (first.isNegative() || max.compareTo(first) < 0) {
                throw new IllegalArgumentException("back-off delays: got first " + first + " and max " + max
                        + ", need 0 <= first <= max");
            }
            this.first = first;
            this.max = max;
        }

        /**
         * The share of each wait that is random, 0 (none) to 1 (full jitter, the default): the
         * wait lies between {@code (1 - jitter) * cap} and {@code cap}.
         */
        public Builder jitter(double jitter) {
            if (jitterSet) {
                throw new IllegalStateException("jitter: already set to " + this.jitter + ", given again " + jitter);
            }
            if (!(jitter >= 0 && jitter <= 1)) {
                throw new IllegalArgumentException("jitter: got " + jitter + ", allowed 0..1");
            }
            this.jitter = jitter;
            this.jitterSet = true;
            return this;
        }

        /** The source of jitter; by default the calling thread's {@link ThreadLocalRandom}. */
        public Builder random(RandomGenerator random) {
            if (this.random != null) {
                throw new IllegalStateException("random: already set to " + this.random + ", given again " + random);
            }
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /** How {@link Backoff#pause} waits; by default it blocks the calling thread. */
        public Builder pause(Pause pause) {
            if (pauseSet) {
                throw new IllegalStateException("pause: already set to " + this.pause + ", given again " + pause);
            }
            this.pause = Objects.requireNonNull(pause, "pause");
            this.pauseSet = true;
            return this;
        }

        public Backoff build() {
            return new Backoff(this);
        }
    }
}
