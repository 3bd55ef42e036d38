package dev.backstop.s3.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

class RetryPolicyTest {

    @Property(seed = "42")
    void delay_isAlwaysBetweenZeroAndTheCap(@ForAll @IntRange(min = 1, max = 100) int attempt,
                                             @ForAll @LongRange(min = 0, max = 5_000) long firstMs,
                                             @ForAll @LongRange(min = 0, max = 60_000) long extraMs) {
        RetryPolicy p = new RetryPolicy(5, Duration.ofMillis(firstMs), Duration.ofMillis(firstMs + extraMs));
        long d = p.delayMillis(attempt);
        assertThat(d).isBetween(0L, Math.min(firstMs + extraMs, firstMs << Math.min(attempt - 1, 20)));
    }

    @Property(seed = "42")
    void rejectsAttemptsBelowOne(@ForAll @IntRange(min = -5, max = 0) int attempts) {
        assertThatThrownBy(() -> new RetryPolicy(attempts, Duration.ZERO, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 1");
    }
}
