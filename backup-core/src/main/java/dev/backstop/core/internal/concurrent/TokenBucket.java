package dev.backstop.core.internal.concurrent;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Objects;

/**
 * A token bucket of bytes: {@code bytesPerSecond} flow in, at most {@code burst} worth of them
 * wait unused, and a caller takes what it is about to move. A caller may take more than the
 * bucket holds: the bucket goes into debt and the caller waits until the debt is paid, so a
 * large write is never refused and the long-run rate stays exact.
 *
 * <p><b>Guarantees.</b> Over any interval of length {@code t} after the bucket was created, the
 * bytes granted without waiting past the interval's end are at most {@code bytesPerSecond × (t +
 * burst)}; a caller that always has bytes to move gets {@code bytesPerSecond} from the first
 * second on, less at most one nanosecond per call of rounding (costs round up). Time comes only
 * from the injected {@link InstantSource} and waiting only through the injected {@link
 * Backoff.Pause}, so a test with a fake clock and a pause that advances it runs without waiting.
 *
 * <p><b>Threading.</b> Thread-safe; threads sharing a bucket share its rate, each waiting for
 * its own share outside the lock.
 */
public final class TokenBucket {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** The most one call may take: keeps {@code bytes × 10^9} far from overflowing. */
    public static final long MAX_TAKE = 1L << 30;

    private final long bytesPerSecond;
    private final long burstNanos;
    private final InstantSource clock;
    private final Backoff.Pause pause;
    /** When everything granted so far is paid for at the rate; {@code now - burst} or later. */
    private long paidUntil;
    private boolean started;

    public TokenBucket(long bytesPerSecond, Duration burst, InstantSource clock, Backoff.Pause pause) {
        if (bytesPerSecond < 1) {
            throw new IllegalArgumentException("bytesPerSecond: got " + bytesPerSecond + ", must be at least 1");
        }
        if (burst.isNegative()) {
            throw new IllegalArgumentException("burst: got " + burst + ", must not be negative");
        }
        this.bytesPerSecond = bytesPerSecond;
        this.burstNanos = burst.toNanos();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.pause = Objects.requireNonNull(pause, "pause");
    }

    /** The rate this bucket grants, in bytes per second. */
    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    /**
     * Takes {@code bytes} and returns how long the caller must wait before moving them (zero when
     * the bucket held enough). Does not wait.
     */
    public Duration reserve(long bytes) {
        if (bytes < 0 || bytes > MAX_TAKE) {
            throw new IllegalArgumentException("bytes: got " + bytes + ", must be 0.." + MAX_TAKE);
        }
        long now = nanos(clock.instant());
        synchronized (this) {
            if (!started) {
                // a new bucket starts full
                paidUntil = now - burstNanos;
                started = true;
            }
            paidUntil = Math.max(paidUntil, now - burstNanos) + cost(bytes);
            return Duration.ofNanos(Math.max(0, paidUntil - now));
        }
    }

    /** Takes {@code bytes}, waiting through the injected pause as long as {@link #reserve} says. */
    public void acquire(long bytes) throws InterruptedException {
        Duration wait = reserve(bytes);
        if (!wait.isZero()) {
            pause.pause(wait);
        }
    }

    /** Nanoseconds the rate needs for {@code bytes}, rounded up so the bucket never grants too much. */
    private long cost(long bytes) {
        return (bytes * NANOS_PER_SECOND + bytesPerSecond - 1) / bytesPerSecond;
    }

    private static long nanos(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), NANOS_PER_SECOND), t.getNano());
    }

    @Override
    public String toString() {
        return "TokenBucket[" + bytesPerSecond + " B/s, burst " + Duration.ofNanos(burstNanos) + "]";
    }
}
