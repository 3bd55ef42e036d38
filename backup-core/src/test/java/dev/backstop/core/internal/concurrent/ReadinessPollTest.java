package dev.backstop.core.internal.concurrent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The readiness poll asks until the server answers, its process exits, or the deadline passes, on an injected clock. */
class ReadinessPollTest {
    @TempDir
    Path dir;
    private Path log;
    private Process running;
    private final long[] now = {1_000};
    private final List<Duration> paused = new ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        log = dir.resolve("server.log");
        running = new ProcessBuilder("sleep", "600").start();
    }

    @AfterEach
    void tearDown() {
        running.destroyForcibly();
    }

    private ReadinessPoll poll(Duration timeout) {
        return new ReadinessPoll("testd", timeout, Duration.ofMillis(50), () -> now[0], d -> {
            paused.add(d);
            now[0] += d.toNanos();
        });
    }

    @Test
    void await_returnsTheFirstAnswer_pausingTheIntervalAfterEachRefusal() throws IOException {
        AtomicInteger attempts = new AtomicInteger();

        String version = poll(Duration.ofSeconds(1)).await(running, log, () -> {
            if (attempts.incrementAndGet() < 3) {
                throw new TimeoutException("connection refused");
            }
            return "15.4";
        });

        assertThat(version).isEqualTo("15.4");
        assertThat(attempts).hasValue(3);
        assertThat(paused).containsExactly(Duration.ofMillis(50), Duration.ofMillis(50));
    }

    @Test
    void await_pastTheDeadline_namesTheTimeoutTheLastErrorAndTheLogsTail() throws IOException {
        Files.writeString(log, "x".repeat(500) + "y".repeat(2000));
        AtomicInteger attempts = new AtomicInteger();

        assertThatThrownBy(() -> poll(Duration.ofMillis(200)).await(running, log, () -> {
            throw new TimeoutException("connection refused " + attempts.incrementAndGet());
        })).isInstanceOf(IOException.class)
                .hasMessage("testd did not accept connections within PT0.2S (last error: connection refused 4): " + "y".repeat(2000));
        assertThat(paused).hasSize(4);
    }

    @Test
    void await_ofAServerThatExited_namesItsExitCode_withoutAskingIt() throws Exception {
        Process exited = new ProcessBuilder("sh", "-c", "exit 3").start();
        exited.waitFor();
        AtomicInteger attempts = new AtomicInteger();

        assertThatThrownBy(() -> poll(Duration.ofSeconds(1)).await(exited, log, attempts::incrementAndGet))
                .isInstanceOf(IOException.class).hasMessage("testd exited with code 3 during start-up: (no server log)");
        assertThat(attempts).hasValue(0);
    }

    @Test
    void await_interruptedWhilePausing_throwsNamingTheServer_andKeepsTheInterrupt() {
        ReadinessPoll poll = new ReadinessPoll("testd", Duration.ofSeconds(1), Duration.ofMillis(50), () -> now[0], d -> {
            throw new InterruptedException();
        });

        try {
            assertThatThrownBy(() -> poll.await(running, log, () -> {
                throw new TimeoutException("connection refused");
            })).isInstanceOf(IOException.class).hasMessage("interrupted while waiting for testd to start");
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void await_withAnUncheckedFailureOfTheProbe_endsTheWaitWithIt() {
        IllegalStateException bug = new IllegalStateException("bug");

        assertThatThrownBy(() -> poll(Duration.ofSeconds(1)).await(running, log, () -> {
            throw bug;
        })).isSameAs(bug);
        assertThat(paused).isEmpty();
    }
}
