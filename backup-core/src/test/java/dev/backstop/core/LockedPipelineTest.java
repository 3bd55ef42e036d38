package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backups that hold the repository lock exclude each other and expiry. */
class LockedPipelineTest {
    @TempDir
    Path tmp;

    /** A source that waits inside the capture until released. */
    static final class Gate implements CaptureSource {
        final CountDownLatch inside = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        Runnable whileInside = () -> { };

        @Override
        public BackupType type() {
            return BackupType.RAW;
        }

        @Override
        public CaptureResult capture(Streams streams) throws IOException {
            try (OutputStream out = streams.open("data")) {
                out.write(new byte[1000]);
                inside.countDown();
                whileInside.run();
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return CaptureResult.builder(SourceInfo.of("gate", "1")).build();
        }
    }

    BackupPipeline pipeline(Repository repo, CaptureSource source, String holder) {
        return BackupPipeline.builder().source(source).repository(repo).noEncryption()
                .lock(RepositoryLock.builder(repo.sink()).holder(holder).build()).build();
    }

    @Test
    void secondBackup_whileTheFirstHoldsTheLock_failsRetryably_andPublishesNothing() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Gate gate = new Gate();
        CompletableFuture<Manifest> first = CompletableFuture.supplyAsync(() -> pipeline(repo, gate, "host-a").run());
        assertThat(gate.inside.await(20, TimeUnit.SECONDS)).isTrue();

        BackupException e = catchThrowableOfType(BackupException.class,
                () -> pipeline(repo, TestSources.bytes(new byte[10]), "host-b").run());
        assertThat(e.stage()).isEqualTo(Stage.LOCK);
        assertThat(e.retryable()).isTrue();
        assertThat(e.getMessage()).contains("held by host-a");

        gate.release.countDown();
        Manifest m = first.get(20, TimeUnit.SECONDS);
        assertThat(repo.catalog().list()).extracting(Manifest::id).containsExactly(m.id());

        // released at the end: the next backup gets the lock
        assertThat(pipeline(repo, TestSources.bytes(new byte[10]), "host-b").run()).isNotNull();
    }

    @Test
    void expiry_cannotRunWhileABackupIsInProgress() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Gate gate = new Gate();
        CompletableFuture<Manifest> running = CompletableFuture.supplyAsync(() -> pipeline(repo, gate, "backup").run());
        assertThat(gate.inside.await(20, TimeUnit.SECONDS)).isTrue();

        Expiry expiry = Expiry.builder().repository(repo).planner(RetentionPlanner.of(RetentionPolicy.keepLast(1))).build();
        BackupException e = catchThrowableOfType(BackupException.class, expiry::run);
        assertThat(e.stage()).isEqualTo(Stage.LOCK);

        gate.release.countDown();
        running.get(20, TimeUnit.SECONDS);
    }

    @Test
    void leaseLostDuringTheCapture_publishesNothing() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MutableClock clock = new MutableClock(Instant.parse("2026-11-21T03:00:00Z"));
        Gate gate = new Gate();
        gate.release.countDown();
        gate.whileInside = () -> {
            // the capture stalls past the lease; another host takes the expired lock over
            clock.advance(Duration.ofMinutes(10));
            RepositoryLock.builder(repo.sink()).holder("other").clock(clock).ttl(Duration.ofMinutes(5)).build().acquire();
        };
        BackupPipeline p = BackupPipeline.builder().source(gate).repository(repo).noEncryption()
                .lock(RepositoryLock.builder(repo.sink()).holder("slow").clock(clock).ttl(Duration.ofMinutes(5)).build())
                .build();

        BackupException e = catchThrowableOfType(BackupException.class, p::run);
        assertThat(e.stage()).isEqualTo(Stage.LOCK);
        assertThat(e.getMessage()).contains("lock lost during the backup; nothing published");
        assertThat(repo.catalog().list()).isEmpty();
        assertThat(repo.sink().list("backups/")).isEmpty();
    }
}
