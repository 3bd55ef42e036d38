package dev.backstop.testkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.Stage;
import dev.backstop.s3.S3Sink;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The repository lock on S3: leases are conditional creates, so one holder at a time. */
class S3RepositoryLockTest {
    private final S3Sink sink = LocalS3.shared().sinkBuilder(LocalS3.shared().newBucket("lock")).prefix("repo").build();

    @Test
    void secondHolder_isRefusedWhileTheFirstHolds_andGetsAHigherTokenAfterRelease() {
        RepositoryLock a = RepositoryLock.builder(sink).holder("host-a").build();
        RepositoryLock b = RepositoryLock.builder(sink).holder("host-b").build();
        long first;
        try (RepositoryLock.Lease lease = a.acquire()) {
            first = lease.token();
            assertThatThrownBy(b::acquire).isInstanceOf(BackupException.class)
                    .hasMessageContaining("host-a")
                    .satisfies(e -> assertThat(((BackupException) e).stage()).isEqualTo(Stage.LOCK));
        }
        try (RepositoryLock.Lease lease = b.acquire()) {
            assertThat(lease.token()).isGreaterThan(first);
        }
    }

    @Test
    void racingHolders_exactlyOneGetsTheLock() throws Exception {
        int n = 4;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<RepositoryLock.Lease> leases = new ArrayList<>();
        try {
            List<Future<RepositoryLock.Lease>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                RepositoryLock lock = RepositoryLock.builder(sink).holder("host-" + i).build();
                Callable<RepositoryLock.Lease> c = () -> {
                    try {
                        return lock.acquire();
                    } catch (BackupException e) {
                        return null;
                    }
                };
                results.add(pool.submit(c));
            }
            for (Future<RepositoryLock.Lease> f : results) {
                if (f.get() != null) {
                    leases.add(f.get());
                }
            }
            assertThat(leases).hasSize(1);
        } finally {
            leases.forEach(RepositoryLock.Lease::close);
            pool.shutdownNow();
        }
    }
}
