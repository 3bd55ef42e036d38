package dev.backstop.core.internal.concurrent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class BackoffTest {

    @Property(seed = "42")
    void delay_liesBetweenTheJitteredShareAndTheCappedExponential(@ForAll @IntRange(min = 1, max = 100) int failures,
                                                                  @ForAll @LongRange(min = 0, max = 5_000) long firstMs,
                                                                  @ForAll @LongRange(min = 0, max = 60_000) long extraMs,
                                                                  @ForAll @DoubleRange(min = 0, max = 1) double jitter) {
        Backoff b = Backoff.builder(Duration.ofMillis(firstMs), Duration.ofMillis(firstMs + extraMs)).jitter(jitter)
                .random(new Random(failures)).build();
        long cap = Math.min(firstMs + extraMs, firstMs << Math.min(failures - 1, 20));
        long d = b.delay(failures).toMillis();
        assertThat(d).isBetween((long) Math.floor(cap * (1 - jitter)) - 1, cap);
    }

    @Test
    void withoutJitter_delaysDoubleUpToTheCap() {
        Backoff b = Backoff.builder(Duration.ofMillis(100), Duration.ofMillis(500)).jitter(0).build();
        assertThat(List.of(b.delay(1), b.delay(2), b.delay(3), b.delay(4), b.delay(64)))
                .extracting(Duration::toMillis).containsExactly(100L, 200L, 400L, 500L, 500L);
    }

    @Test
    void pause_waitsThroughTheInjectedPause_forTheDelayItReturns() throws InterruptedException {
        List<Duration> waited = new ArrayList<>();
        Backoff b = Backoff.builder(Duration.ofSeconds(1), Duration.ofMinutes(1)).random(new Random(7)).pause(waited::add).build();
        Duration first = b.pause(1);
        Duration third = b.pause(3);
        assertThat(waited).containsExactly(first, third);
        assertThat(third).isBetween(Duration.ZERO, Duration.ofSeconds(4));
    }

    @Test
    void schedule_handsTheRetryToTheSchedulerWithTheDelay() throws Exception {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        try {
            Backoff b = Backoff.builder(Duration.ofHours(1), Duration.ofHours(1)).jitter(0).build();
            ScheduledFuture<?> f = b.schedule(scheduler, 1, () -> { });
            assertThat(f.getDelay(TimeUnit.MINUTES)).isBetween(59L, 60L);
            f.cancel(false);
        } finally {
            scheduler.shutdownNow();
        }
    }

    @Test
    void badSettings_areRefusedWithTheBound() {
        assertThatThrownBy(() -> Backoff.builder(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 <= first <= max");
        assertThatThrownBy(() -> Backoff.builder(Duration.ZERO, Duration.ZERO).jitter(1.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("allowed 0..1");
        assertThatThrownBy(() -> Backoff.builder(Duration.ZERO, Duration.ZERO).build().delay(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(">= 1");
        assertThatThrownBy(() -> Backoff.builder(Duration.ZERO, Duration.ZERO).jitter(0.5).jitter(0.25))
                .isInstanceOf(IllegalStateException.class).hasMessage("jitter: already set to 0.5, given again 0.25");
    }
}
