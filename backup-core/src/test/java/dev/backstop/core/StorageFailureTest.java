package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.backstop.core.event.BackupListener;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.schedule.BackupScheduler;
import dev.backstop.core.schedule.Schedule;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Storage failures that retrying cannot fix, on real file systems: a full tmpfs, a read-only
 * mount, an immutable directory. Each is reported with its reason and is not retryable, so a
 * scheduler makes one attempt.
 */
class StorageFailureTest {
    @TempDir
    Path tmp;
    private final Mounts mounts = new Mounts();
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void tearDown() throws Exception {
        executor.shutdownNow();
        mounts.close();
    }

    private static BackupPipeline pipeline(Repository repo, AtomicInteger attempts, byte[] data) {
        return BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo).noEncryption()
                .listener(new BackupListener() {
                    @Override
                    public void backupStarted(BackupId id, CaptureSource source) {
                        attempts.incrementAndGet();
                    }
                }).build();
    }

    private Manifest runScheduled(BackupPipeline pipeline) {
        return BackupScheduler.builder().pipeline(pipeline).schedule(Schedule.every(Duration.ofDays(1)))
                .executor(executor).retries(3, Duration.ZERO).build().runNow().orElseThrow();
    }

    @Test
    void backupOntoAFullDisk_failsAsNoSpace_isNotRetried_andLeavesNothing() throws Exception {
        Path dir = mounts.tmpfs(tmp.resolve("small"), "1m");
        Repository repo = Repository.filesystem(dir);
        AtomicInteger attempts = new AtomicInteger();

        StorageException e = catchThrowableOfType(StorageException.class,
                () -> runScheduled(pipeline(repo, attempts, TestSources.random(3_000_000, 1))));

        assertThat(e.reason()).isEqualTo(StorageException.Reason.NO_SPACE);
        assertThat(e.retryable()).isFalse();
        assertThat(e.key()).startsWith("backups/").endsWith("/data");
        assertThat(e.getMessage()).contains("repository storage is full").contains("No space left on device");
        assertThat(attempts).as("one attempt: retrying cannot free space").hasValue(1);
        assertThat(filesUnder(dir)).as("the temporary file went with the abort").isEmpty();
    }

    @Test
    void backupIntoAReadOnlyRepository_failsAsReadOnly_isNotRetried() throws Exception {
        Path dir = tmp.resolve("repo");
        Repository repo = Repository.filesystem(dir);
        Manifest earlier = pipeline(repo, new AtomicInteger(), new byte[1000]).run();
        mounts.readOnly(dir);
        AtomicInteger attempts = new AtomicInteger();

        StorageException e = catchThrowableOfType(StorageException.class,
                () -> runScheduled(pipeline(repo, attempts, new byte[1000])));

        assertThat(e.reason()).isEqualTo(StorageException.Reason.READ_ONLY);
        assertThat(e.retryable()).isFalse();
        assertThat(e.getMessage()).contains("repository storage is read-only").contains("Read-only file system");
        assertThat(attempts).hasValue(1);
        assertThat(repo.catalog().list()).extracting(Manifest::id).containsExactly(earlier.id());
    }

    @Test
    void backupIntoAnImmutableDirectory_failsAsAccessDenied_isNotRetried() throws Exception {
        Path dir = tmp.resolve("repo");
        Repository repo = Repository.filesystem(dir);
        Path backups = Files.createDirectories(dir.resolve("backups"));
        // root ignores permission bits, but not the immutable attribute: EPERM for everyone
        Process chattr = new ProcessBuilder("chattr", "+i", backups.toString()).redirectErrorStream(true).start();
        String out = new String(chattr.getInputStream().readAllBytes());
        org.junit.jupiter.api.Assumptions.assumeTrue(chattr.waitFor() == 0, "chattr +i not available: " + out);
        try {
            AtomicInteger attempts = new AtomicInteger();
            StorageException e = catchThrowableOfType(StorageException.class,
                    () -> runScheduled(pipeline(repo, attempts, new byte[1000])));

            assertThat(e.reason()).isEqualTo(StorageException.Reason.ACCESS_DENIED);
            assertThat(e.retryable()).isFalse();
            assertThat(e.getMessage()).contains("access to the repository denied").contains("Operation not permitted");
            assertThat(attempts).hasValue(1);
        } finally {
            new ProcessBuilder("chattr", "-i", backups.toString()).start().waitFor();
        }
    }

    @Test
    void reasonOf_readsJavasTypeAndTheSystemsMessage_throughCauses() {
        assertThat(StorageException.Reason.of(new AccessDeniedException("/r/x"))).isEqualTo(StorageException.Reason.ACCESS_DENIED);
        assertThat(StorageException.Reason.of(new IOException("wrapped", new FileSystemException("/r/x", null,
                "Read-only file system")))).isEqualTo(StorageException.Reason.READ_ONLY);
        assertThat(StorageException.Reason.of(new IOException("Disk quota exceeded"))).isEqualTo(StorageException.Reason.NO_SPACE);
        assertThat(StorageException.Reason.of(new IOException("Connection reset by peer"))).isEqualTo(StorageException.Reason.OTHER);
        StorageException transientOne = StorageException.of("k", "write failed", new IOException("Connection reset"), null);
        assertThat(transientOne.retryable()).isTrue();
        assertThat(StorageException.of("k", "commit", new ObjectExistsException("k"), null).retryable()).isFalse();
    }

    private static List<Path> filesUnder(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).toList();
        }
    }
}
