package dev.backstop.s3.internal;

import dev.backstop.core.internal.concurrent.Backoff;
import java.time.Duration;

/**
 * How often one buffered part is sent again and how long to wait in between: exponential
 * backoff with full jitter (a random wait between zero and the capped exponential), so that
 * parallel parts failing together do not retry in lock step.
 */
public record RetryPolicy(int maxAttempts, Duration firstDelay, Duration maxDelay) {

    public RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("part retry attempts: got " + maxAttempts + ", must be >= 1");
        }
        if (firstDelay.isNegative() || maxDelay.compareTo(firstDelay) < 0) {
            throw new IllegalArgumentException("part retry delays: got first " + firstDelay + " and max " + maxDelay
                    + ", need 0 <= first <= max");
        }
    }

    /** The back-off between attempts: full jitter, so each wait lies between zero and the capped exponential. */
    public Backoff backoff() {
        return Backoff.builder(firstDelay, maxDelay).build();
    }

    /** The wait before attempt {@code attempt + 1}, after {@code attempt} (1-based) failed. */
    public long delayMillis(int attempt) {
        return backoff().delay(attempt).toMillis();
    }
}
