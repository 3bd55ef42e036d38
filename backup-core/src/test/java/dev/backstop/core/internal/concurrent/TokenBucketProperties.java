package dev.backstop.core.internal.concurrent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** The bucket's two promises, checked against a fake clock that only its pause moves. */
class TokenBucketProperties {
    private static final long NANOS = 1_000_000_000L;

    /** A clock at an arbitrary start that moves only when told to. */
    static final class FakeTime implements InstantSource {
        final long start;
        final AtomicLong now;

        FakeTime(long startNanos) {
            this.start = startNanos;
            this.now = new AtomicLong(startNanos);
        }

        @Override
        public Instant instant() {
            long n = now.get();
            return Instant.ofEpochSecond(Math.floorDiv(n, NANOS), Math.floorMod(n, NANOS));
        }

        Backoff.Pause pause() {
            return d -> now.addAndGet(d.toNanos());
        }

        long elapsed() {
            return now.get() - start;
        }
    }

    @Provide
    Arbitrary<List<Integer>> writes() {
        // boundaries: one byte, the stream's 64 KiB slice +-1, and anything up to 1 MiB
        return Arbitraries.oneOf(Arbitraries.of(1, 65535, 65536, 65537),
                Arbitraries.integers().between(1, 1 << 20)).list().ofMinSize(1).ofMaxSize(300);
    }

    @Property(tries = 300, seed = "20261207")
    void aSenderThatIsAlwaysReady_takesExactlyTheTimeTheRateNeeds_lessTheBurst(
            @ForAll("writes") List<Integer> writes,
            @ForAll @LongRange(min = 1024, max = 1L << 30) long rate,
            @ForAll @IntRange(min = 0, max = 1000) int burstMillis,
            @ForAll @LongRange(min = 0, max = 4_000_000_000L) long startSeconds) throws InterruptedException {
        FakeTime time = new FakeTime(startSeconds * NANOS);
        TokenBucket bucket = new TokenBucket(rate, Duration.ofMillis(burstMillis), time, time.pause());
        long bytes = 0;
        for (int w : writes) {
            bucket.acquire(w);
            bytes += w;
        }
        long burst = burstMillis * 1_000_000L;
        long floor = bytes * NANOS / rate;
        long ceil = (bytes * NANOS + rate - 1) / rate;
        // never faster than the rate allows; slower by at most the round-up of one nanosecond per call
        assertThat(time.elapsed()).isBetween(Math.max(0, floor - burst), Math.max(0, ceil - burst + writes.size()));
        if (floor - burst > NANOS) {
            // the rate a user sees over a second or more: within 1 % of the one set
            double achieved = bytes * (double) NANOS / (time.elapsed() + burst);
            assertThat(achieved / rate).isBetween(0.99, 1.0 + 1e-9);
        }
    }

    @Property(tries = 200, seed = "20261208")
    void betweenAnyRequestAndAnyLaterGrant_noMoreThanRateTimesTheIntervalPlusTheBurstPasses(
            @ForAll("writes") List<Integer> writes,
            @ForAll("idles") List<Long> idles,
            @ForAll @LongRange(min = 1024, max = 64L << 20) long rate,
            @ForAll @IntRange(min = 0, max = 1000) int burstMillis) throws InterruptedException {
        FakeTime time = new FakeTime(1_700_000_000L * NANOS);
        long burst = burstMillis * 1_000_000L;
        TokenBucket bucket = new TokenBucket(rate, Duration.ofNanos(burst), time, time.pause());
        List<long[]> grants = new ArrayList<>(); // {bytes, request time, grant time}
        for (int i = 0; i < writes.size(); i++) {
            // the sender pauses of its own accord now and then: the bucket refills, up to the burst
            time.now.addAndGet(idles.get(i % idles.size()));
            long requested = time.now.get();
            bucket.acquire(writes.get(i));
            grants.add(new long[] {writes.get(i), requested, time.now.get()});
        }
        for (int i = 0; i < grants.size(); i++) {
            long bytes = 0;
            for (int j = i; j < grants.size(); j++) {
                bytes += grants.get(j)[0];
                long interval = grants.get(j)[2] - grants.get(i)[1];
                // bytes <= rate * (interval + burst), exactly: the right side is a whole number of nanoseconds
                if (bytes * NANOS / rate > interval + burst) {
                    throw new AssertionError(bytes + " bytes passed between request " + i + " and grant " + j + ", "
                            + interval + " ns apart, at " + rate + " B/s with a burst of " + burst + " ns");
                }
            }
        }
    }

    @Provide
    Arbitrary<List<Long>> idles() {
        return Arbitraries.oneOf(Arbitraries.just(0L), Arbitraries.longs().between(0, 3 * NANOS)).list().ofMinSize(1).ofMaxSize(20);
    }

    @Test
    void aNewBucket_grantsItsBurstAtOnce_thenWaitsForTheRate() {
        FakeTime time = new FakeTime(0);
        TokenBucket bucket = new TokenBucket(1000 * 1024, Duration.ofMillis(100), time, time.pause());
        assertThat(bucket.reserve(100 * 1024)).isEqualTo(Duration.ZERO);
        assertThat(bucket.reserve(1024)).isEqualTo(Duration.ofMillis(1));
        time.now.addAndGet(Duration.ofSeconds(5).toNanos());
        // five idle seconds refill only the 100 ms burst
        assertThat(bucket.reserve(100 * 1024)).isEqualTo(Duration.ZERO);
        assertThat(bucket.reserve(10 * 1024)).isEqualTo(Duration.ofMillis(10));
    }

    @Test
    void aTakeLargerThanTheBucket_isGrantedAfterTheDebtIsPaid_notRefused() {
        FakeTime time = new FakeTime(0);
        TokenBucket bucket = new TokenBucket(1024, Duration.ZERO, time, time.pause());
        assertThat(bucket.reserve(10 * 1024)).isEqualTo(Duration.ofSeconds(10));
        assertThat(bucket.reserve(1024)).isEqualTo(Duration.ofSeconds(11));
    }

    @Test
    void badSettings_areRefusedNamingTheBound() {
        FakeTime time = new FakeTime(0);
        assertThatThrownBy(() -> new TokenBucket(0, Duration.ZERO, time, time.pause()))
                .hasMessageContaining("bytesPerSecond: got 0, must be at least 1");
        TokenBucket bucket = new TokenBucket(1, Duration.ZERO, time, time.pause());
        assertThatThrownBy(() -> bucket.reserve(TokenBucket.MAX_TAKE + 1)).hasMessageContaining("must be 0..1073741824");
    }
}
