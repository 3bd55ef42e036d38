package dev.backstop.postgres.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.DataSize;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How restoreTo and PostgresRestore read a backup: a ReadAhead thread over Restore's two-thread
 * decode. Abandoning it leaves no thread behind; corruption still arrives as IntegrityException.
 */
class ReadAheadOverRestoreTest {
    @TempDir
    Path tmp;
    Repository repo;
    LocalKeysetKek kek;
    Manifest backup;
    byte[] payload;
    final List<Thread> decodeThreads = new CopyOnWriteArrayList<>();
    final Executor recording = task -> {
        Thread t = new Thread(task, "test-decode");
        t.setDaemon(true);
        decodeThreads.add(t);
        t.start();
    };

    @BeforeEach
    void setUp() {
        repo = Repository.filesystem(tmp.resolve("repo"));
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        payload = new byte[12 << 20];
        Random r = new Random(5);
        for (int i = 0; i < payload.length; i++) {
            // half-compressible: a restore spans several hand-off chunks
            payload[i] = (byte) (i % 2 == 0 ? 'a' + r.nextInt(4) : r.nextInt());
        }
        backup = BackupPipeline.builder().source(new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws IOException {
                try (OutputStream out = streams.open("data")) {
                    out.write(payload);
                }
                return CaptureResult.builder(SourceInfo.of("test", "1")).build();
            }
        }).repository(repo).compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();
    }

    Restore restore() {
        return Restore.builder().repository(repo).keys(kek).executor(recording).pipeliningFrom(DataSize.ofMiB(1)).build();
    }

    @Test
    void readAhead_overAPipelinedRestore_deliversTheBackup() throws IOException {
        try (InputStream in = ReadAhead.of(restore().open(backup, "data"), 1 << 20, 4, "test")) {
            assertThat(in.readAllBytes()).isEqualTo(payload);
        }
        assertThat(decodeThreads).hasSize(1);
    }

    /** Returns once {@code t} waits on a lock or condition; fails after 10 s. */
    static void awaitWaiting(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertThat(System.nanoTime()).as("%s waiting within 10 s, state %s", t.getName(), t.getState()).isLessThan(deadline);
            Thread.yield();
        }
    }

    @Test
    void abandoningARestore_afterAFewBytes_stopsEveryThread() throws Exception {
        InputStream in = ReadAhead.of(restore().open(backup, "data"), 1 << 20, 4, "abandoned");
        in.readNBytes(100);
        // abandoned while every decode thread has filled its hand-off and waits for the reader
        for (Thread t : decodeThreads) {
            awaitWaiting(t);
        }
        in.close();
        for (Thread t : decodeThreads) {
            t.join(5_000);
            assertThat(t.isAlive()).isFalse();
        }
        // close() waited until the read-ahead task stopped; its thread then ends
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("backstop-readahead-abandoned")) {
                t.join(5_000);
                assertThat(t.isAlive()).isFalse();
            }
        }
    }

    @Test
    void corruptionNearTheEnd_reachesTheReaderThroughBothThreads() throws IOException {
        Path file = ((dev.backstop.core.fs.FileSystemSink) repo.sink()).pathOf(backup.objects().get(0).key());
        byte[] stored = Files.readAllBytes(file);
        stored[stored.length - 10] ^= 1;
        Files.write(file, stored);
        try (InputStream in = ReadAhead.of(restore().open(backup, "data"), 1 << 20, 4, "test")) {
            assertThatThrownBy(() -> in.transferTo(OutputStream.nullOutputStream())).isInstanceOf(IntegrityException.class);
        }
    }
}
