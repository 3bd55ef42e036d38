package dev.backstop.core.internal.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.internal.concurrent.TokenBucket;
import java.io.ByteArrayOutputStream;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ThrottledOutputStreamTest {
    final AtomicLong now = new AtomicLong();
    final List<Duration> waits = new ArrayList<>();

    @Test
    void aLargeWrite_isSpreadOverSlices_eachWaitingForItsShare_andEveryBytePasses() throws Exception {
        TokenBucket bucket = new TokenBucket(64 * 1024, Duration.ZERO, () -> Instant.EPOCH.plusNanos(now.get()), d -> {
            waits.add(d);
            now.addAndGet(d.toNanos());
        });
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        byte[] data = new byte[4 * 64 * 1024 + 1];
        data[data.length - 1] = 42;
        try (ThrottledOutputStream out = new ThrottledOutputStream(sink, bucket)) {
            out.write(data);
        }
        assertThat(sink.toByteArray()).isEqualTo(data);
        assertThat(waits).hasSize(5).startsWith(Duration.ofSeconds(1), Duration.ofSeconds(1));
        assertThat(now.get()).isEqualTo(4_000_000_000L + (1_000_000_000L + 65535) / 65536);
    }

    @Test
    void anInterruptedWait_throwsInterruptedIOException_keepsTheInterruptStatus_andWritesNothing() {
        TokenBucket bucket = new TokenBucket(1024, Duration.ZERO, () -> Instant.EPOCH, d -> {
            throw new InterruptedException("stop");
        });
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try {
            assertThatThrownBy(() -> new ThrottledOutputStream(sink, bucket).write(new byte[10]))
                    .isInstanceOf(InterruptedIOException.class).hasMessageContaining("rate limit");
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThat(sink.size()).isZero();
    }
}
