package dev.backstop.s3.internal;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

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

    /** The wait before attempt {@code attempt + 1}, after {@code attempt} (1-based) failed. */
    public long delayMillis(int attempt) {
        long cap = firstDelay.toMillis() << Math.min(attempt - 1, 20);
        long bound = Math.min(Math.max(cap, 0), maxDelay.toMillis());
        return bound == 0 ? 0 : ThreadLocalRandom.current().nextLong(bound + 1);
    }
}
