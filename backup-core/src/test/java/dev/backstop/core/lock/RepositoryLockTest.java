package dev.backstop.core.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.MutableClock;
import dev.backstop.core.Stage;
import dev.backstop.core.fs.FileSystemSink;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryLockTest {
    @TempDir
    java.nio.file.Path tmp;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-21T03:00:00Z"));

    private RepositoryLock lock(FileSystemSink sink, String holder) {
        return RepositoryLock.builder(sink).holder(holder).ttl(Duration.ofMinutes(1)).clock(clock).build();
    }

    @Test
    void acquire_whileAnotherHolderHasALiveLease_failsWithLockStageNamingTheHolder() {
        FileSystemSink sink = FileSystemSink.open(tmp);
        RepositoryLock a = lock(sink, "host-a");
        RepositoryLock b = lock(sink, "host-b");

        try (RepositoryLock.Lease held = a.acquire()) {
            assertThatThrownBy(b::acquire).isInstanceOfSatisfying(BackupException.class, e -> {
                assertThat(e.stage()).isEqualTo(Stage.LOCK);
                assertThat(e.retryable()).isTrue();
                assertThat(e.getMessage()).contains("held by host-a").contains("token " + held.token());
            });
        }
    }

    @Test
    void acquire_afterRelease_succeedsWithAGreaterToken() {
        FileSystemSink sink = FileSystemSink.open(tmp);
        long first;
        try (RepositoryLock.Lease l = lock(sink, "host-a").acquire()) {
            first = l.token();
        }
        try (RepositoryLock.Lease l = lock(sink, "host-b").acquire()) {
            assertThat(l.token()).isGreaterThan(first);
        }
    }

    @Test
    void close_onAnInterruptedThread_stillReleases_andKeepsTheInterrupt() {
        // a backup aborted by an interrupt (a daemon stopping) releases its lease on that thread:
        // FileChannel refuses interrupted threads, and the lock would otherwise stay until its TTL
        FileSystemSink sink = FileSystemSink.open(tmp);
        RepositoryLock.Lease a = lock(sink, "host-a").acquire();
        Thread.currentThread().interrupt();
        try {
            a.close();
            assertThat(Thread.currentThread().isInterrupted()).as("interrupt kept for the caller").isTrue();
        } finally {
            Thread.interrupted();
        }
        try (RepositoryLock.Lease b = lock(sink, "host-b").acquire()) {
            assertThat(b.token()).isGreaterThan(a.token());
        }
    }

    @Test
    void expiredLease_isTakenOver_andTheOldHolderLearnsItLostTheLock() {
        FileSystemSink sink = FileSystemSink.open(tmp);
        RepositoryLock.Lease a = lock(sink, "host-a").acquire();
        clock.advance(Duration.ofSeconds(61));

        RepositoryLock.Lease b = lock(sink, "host-b").acquire();

        assertThat(b.token()).isGreaterThan(a.token());
        assertThatThrownBy(a::renew).isInstanceOfSatisfying(BackupException.class,
                e -> assertThat(e.getMessage()).contains("taken over"));
        a.close(); // must not release b's lease
        assertThatThrownBy(() -> lock(sink, "host-c").acquire()).hasMessageContaining("held by host-b");
        b.close();
    }

    @Test
    void ensureHeld_pastExpiry_fails_andBeforeHalfTtl_doesNotRenew() {
        FileSystemSink sink = FileSystemSink.open(tmp);
        RepositoryLock.Lease a = lock(sink, "host-a").acquire();
        Instant firstExpiry = a.expiresAt();

        clock.advance(Duration.ofSeconds(10));
        a.ensureHeld();
        assertThat(a.expiresAt()).isEqualTo(firstExpiry);

        clock.advance(Duration.ofSeconds(30)); // 20 s left of 60: renews
        a.ensureHeld();
        assertThat(a.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(1)));

        clock.advance(Duration.ofMinutes(2));
        assertThatThrownBy(a::ensureHeld).isInstanceOfSatisfying(BackupException.class,
                e -> assertThat(e.getMessage()).contains("expired"));
    }

    @Test
    void renewal_keepsTheTokenAndKeepsOthersOut() throws Exception {
        FileSystemSink sink = FileSystemSink.open(tmp);
        try (RepositoryLock.Lease a = lock(sink, "host-a").acquire()) {
            long token = a.token();
            for (int i = 0; i < 5; i++) {
                clock.advance(Duration.ofSeconds(50));
                a.renew();
            }
            assertThat(a.token()).isEqualTo(token);
            assertThatThrownBy(() -> lock(sink, "host-b").acquire()).hasMessageContaining("held by host-a");
            // old leases are cleaned up: only the newest stays
            assertThat(sink.list("locks/repository/")).hasSize(1);
        }
    }

    @Test
    void contention_manyHoldersRacing_exactlyOneWinsEachRound() throws Exception {
        FileSystemSink sink = FileSystemSink.open(tmp);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            long lastToken = 0;
            for (int round = 0; round < 20; round++) {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<RepositoryLock.Lease>> tries = new ArrayList<>();
                for (int h = 0; h < 4; h++) {
                    RepositoryLock l = lock(sink, "host-" + h);
                    tries.add(pool.submit(() -> {
                        start.await();
                        try {
                            return l.acquire();
                        } catch (BackupException e) {
                            return null;
                        }
                    }));
                }
                start.countDown();
                List<RepositoryLock.Lease> winners = new ArrayList<>();
                for (Future<RepositoryLock.Lease> f : tries) {
                    RepositoryLock.Lease w = f.get(30, TimeUnit.SECONDS);
                    if (w != null) {
                        winners.add(w);
                    }
                }
                assertThat(winners).as("round %d", round).hasSize(1);
                assertThat(winners.get(0).token()).isGreaterThan(lastToken);
                lastToken = winners.get(0).token();
                winners.get(0).close();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void builder_rejectsBadSettingsNamingTheBound() {
        FileSystemSink sink = FileSystemSink.open(tmp);
        assertThatThrownBy(() -> RepositoryLock.builder(sink).ttl(Duration.ofMillis(10)))
                .hasMessageContaining("between PT1S and P1D");
        assertThatThrownBy(() -> RepositoryLock.builder(sink).name("Bad/Name"))
                .hasMessageContaining("[a-z0-9]");
    }
}
