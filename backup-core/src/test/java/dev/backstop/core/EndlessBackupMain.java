package dev.backstop.core;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.lock.RepositoryLock;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;

/**
 * A backup process that never finishes, for tests that kill it: {@code <repository> <kek file>
 * <lock ttl seconds>}. Its source writes incompressible bytes, throttled, up to 64 MiB, then waits
 * forever with the stream open.
 */
public final class EndlessBackupMain {
    private EndlessBackupMain() {
    }

    public static void main(String[] args) {
        Repository repo = Repository.filesystem(Path.of(args[0]));
        BackupPipeline.builder()
                .source(new CaptureSource() {
                    @Override
                    public BackupType type() {
                        return BackupType.RAW;
                    }

                    @Override
                    public CaptureResult capture(Streams streams) throws IOException {
                        OutputStream out = streams.open("data");
                        byte[] chunk = new byte[64 * 1024];
                        Random random = new Random(7);
                        for (int i = 0; i < 1024; i++) {
                            random.nextBytes(chunk);
                            out.write(chunk);
                            out.flush();
                            // the throttle is what this program is for: a source slow enough that the
                            // test kills it mid-stream; nothing waits on it
                            pause(5);
                        }
                        try {
                            new CountDownLatch(1).await(); // never counted down: the stream stays open until killed
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        throw new java.io.InterruptedIOException("interrupted");
                    }
                })
                .compress(ZstdTransform.level(1))
                .encrypt(Encryption.with(LocalKeysetKek.create(Path.of(args[1]))))
                .lock(RepositoryLock.builder(repo.sink()).ttl(Duration.ofSeconds(Long.parseLong(args[2]))).build())
                .repository(repo)
                .build()
                .run();
    }

    private static void pause(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        }
    }
}
