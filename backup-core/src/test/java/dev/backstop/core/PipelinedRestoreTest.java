package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The two-thread decode of {@link Restore#open}: same bytes, same failures, no thread left behind. */
class PipelinedRestoreTest {
    @TempDir
    Path tmp;
    Repository repo;
    FileSystemSink sink;
    LocalKeysetKek kek;
    /** Every decode thread the restores under test started, to check that each one ended. */
    final List<Thread> started = new CopyOnWriteArrayList<>();
    final Executor recording = task -> {
        Thread t = new Thread(task, "test-decode");
        t.setDaemon(true);
        started.add(t);
        t.start();
    };

    @BeforeEach
    void setUp() {
        sink = FileSystemSink.open(tmp.resolve("repo"));
        repo = Repository.on(sink);
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
    }

    Manifest backup(byte[] payload, boolean encrypt) {
        BackupPipeline.Builder b = BackupPipeline.builder().source(TestSources.bytes(payload)).repository(repo)
                .compress(ZstdTransform.level(3));
        if (encrypt) {
            b.encrypt(Encryption.with(kek));
        } else {
            b.noEncryption();
        }
        return b.build().run();
    }

    Restore pipelined() {
        return Restore.builder().repository(repo).keys(kek).allowUnencrypted().executor(recording).pipeliningFrom(DataSize.ofBytes(0)).build();
    }

    static byte[] mixed(int size, long seed) {
        byte[] text = TestSources.textLike(size / 2, seed);
        byte[] noise = TestSources.random(size - size / 2, seed);
        byte[] out = new byte[size];
        System.arraycopy(text, 0, out, 0, text.length);
        System.arraycopy(noise, 0, out, text.length, noise.length);
        return out;
    }

    /** Returns once {@code t} waits on a lock or condition (the hand-off); fails after 10 s. */
    static void awaitWaiting(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertThat(System.nanoTime()).as("%s waiting within 10 s, state %s", t.getName(), t.getState()).isLessThan(deadline);
            Thread.yield();
        }
    }

    void assertAllDecodeThreadsEnded() throws InterruptedException {
        for (Thread t : started) {
            t.join(5_000);
            assertThat(t.isAlive()).as("decode thread %s still running", t).isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 6_000_000})
    void pipelinedRestore_deliversTheSameBytes_asTheBackup(int size) throws Exception {
        byte[] payload = mixed(size, size);
        for (boolean encrypt : new boolean[] {true, false}) {
            Manifest m = backup(payload, encrypt);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (InputStream in = pipelined().open(m, "data")) {
                in.transferTo(out);
                assertThat(in.read()).isEqualTo(-1);
            }
            assertThat(out.toByteArray()).as("encrypted=%s", encrypt).isEqualTo(payload);
        }
        assertThat(started).as("one decode thread per restore").hasSize(2);
        assertAllDecodeThreadsEnded();
    }

    @Test
    void smallObjects_areDecodedWithoutAThread_byDefault() throws IOException {
        Manifest m = backup(mixed(100_000, 3), true);
        Restore r = Restore.builder().repository(repo).keys(kek).allowUnencrypted().executor(recording).build();
        try (InputStream in = r.open(m, "data")) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        assertThat(started).isEmpty();
    }

    @Test
    void pipeliningOff_decodesWithoutAThread_evenForBigObjects() throws IOException {
        Manifest m = backup(mixed(3_000_000, 3), true);
        Restore r = Restore.builder().repository(repo).keys(kek).allowUnencrypted().executor(recording).pipelining(false)
                .pipeliningFrom(DataSize.ofBytes(0)).build();
        assertThat(r.verify(m).passed()).isTrue();
        assertThat(started).isEmpty();
    }

    @Test
    void closingEarly_stopsTheDecodeThread() throws Exception {
        Manifest m = backup(mixed(12_000_000, 4), true);
        for (int i = 0; i < 5; i++) {
            InputStream in = pipelined().open(m, "data");
            in.readNBytes(1000 * i);
            // close while the decode thread has filled every chunk and waits for the reader
            awaitWaiting(started.get(i));
            in.close();
        }
        assertThat(started).hasSize(5);
        assertAllDecodeThreadsEnded();
    }

    @Test
    void interruptedReader_getsInterruptedIOException_andKeepsItsInterruptStatus() throws Exception {
        Manifest m = backup(mixed(6_000_000, 5), true);
        CountDownLatch release = new CountDownLatch(1);
        // a decode thread that cannot start on time: the reader waits on the hand-off
        Executor late = task -> recording.execute(() -> {
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            task.run();
        });
        Restore r = Restore.builder().repository(repo).keys(kek).allowUnencrypted().executor(late).pipeliningFrom(DataSize.ofBytes(0)).build();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> interruptKept = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try (InputStream in = r.open(m, "data")) {
                in.transferTo(OutputStream.nullOutputStream());
            } catch (Throwable t) {
                thrown.set(t);
            }
            interruptKept.set(Thread.currentThread().isInterrupted());
        });
        reader.start();
        awaitWaiting(reader);
        reader.interrupt();
        release.countDown();
        reader.join(10_000);
        assertThat(reader.isAlive()).isFalse();
        assertThat(thrown.get()).isInstanceOf(InterruptedIOException.class);
        assertThat(interruptKept.get()).isTrue();
        assertAllDecodeThreadsEnded();
    }

    @Test
    void storeReadFailure_onTheDecodeThread_isStillAStorageError() throws IOException {
        Manifest m = backup(mixed(6_000_000, 6), true);
        String key = m.objects().get(0).key();
        Sink failing = new ForwardingSink(sink) {
            @Override
            public InputStream open(String k) throws IOException {
                InputStream real = super.open(k);
                return new java.io.FilterInputStream(real) {
                    long read;

                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        if (read > 2_000_000) {
                            throw new IOException("connection reset");
                        }
                        int n = super.read(b, off, len);
                        read += Math.max(n, 0);
                        return n;
                    }
                };
            }
        };
        Restore r = Restore.builder().repository(Repository.on(failing)).keys(kek).allowUnencrypted().executor(recording)
                .pipeliningFrom(DataSize.ofBytes(0)).build();
        assertThatThrownBy(() -> r.copyTo(m, "data", OutputStream.nullOutputStream()))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining(key)
                .hasMessageContaining("connection reset");
    }

    @Test
    void corruptionLateInABigObject_isAnIntegrityError_notTheEnd() throws Exception {
        byte[] payload = mixed(12_000_000, 7);
        Manifest m = backup(payload, true);
        Path file = sink.pathOf(m.objects().get(0).key());
        byte[] stored = Files.readAllBytes(file);
        stored[stored.length - 100] ^= 0x40;
        Files.write(file, stored);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = pipelined().open(m, "data")) {
            assertThatThrownBy(() -> in.transferTo(out)).isInstanceOf(IntegrityException.class);
        }
        assertThat(out.size()).as("bytes before the bad segment arrive, the end never").isLessThan(payload.length);
        assertAllDecodeThreadsEnded();
    }
}
