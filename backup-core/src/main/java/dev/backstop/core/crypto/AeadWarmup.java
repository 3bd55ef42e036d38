package dev.backstop.core.crypto;

import com.google.crypto.tink.subtle.AesGcmHkdfStreaming;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gets the JDK's AES-GCM compiled before real data arrives.
 *
 * <p>Why: HotSpot uses its AES and GHASH intrinsics only from compiled callers. With 1 MiB
 * segments a backup calls {@code Cipher.doFinal} once per MiB, so the callers stay interpreted
 * for the first gigabyte or so and encryption crawls at 50-100 MB/s (measured here: 49 MB/s for
 * the first 256 MiB). Tens of thousands of tiny segments through the same Tink code path reach the
 * compile thresholds in well under a second; afterwards the first 256 MiB ran at ~1,500 MB/s.
 *
 * <p>Runs once per JVM on a daemon thread, started by the first {@link AeadTransform} stream that
 * passes 32 MiB of ciphertext (smaller streams never earn its CPU back); it uses a throwaway
 * all-zero key and touches no backup.
 */
final class AeadWarmup {
    private static final Logger LOG = LoggerFactory.getLogger(AeadWarmup.class);
    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static final CountDownLatch DONE = new CountDownLatch(1);
    private static final int SEGMENT = 1024;
    private static final int SEGMENTS_PER_STREAM = 64;
    private static final int ROUNDS = 1000;

    private AeadWarmup() {
    }

    static void startOnce() {
        if (!STARTED.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(AeadWarmup::run, "backstop-aead-warmup");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    /** Waits for the warm-up to finish (benchmarks and tests that want a warm start). */
    static boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return DONE.await(timeout, unit);
    }

    private static void run() {
        long start = System.nanoTime();
        try {
            AesGcmHkdfStreaming small = new AesGcmHkdfStreaming(new byte[32], "HmacSha256", 32, SEGMENT, 0);
            byte[] plain = new byte[(SEGMENT - small.getCiphertextOverhead()) * SEGMENTS_PER_STREAM];
            byte[] aad = new byte[0];
            byte[] sink = new byte[8192];
            for (int i = 0; i < ROUNDS; i++) {
                ByteArrayOutputStream ct = new ByteArrayOutputStream(plain.length + SEGMENTS_PER_STREAM * 64);
                try (OutputStream o = small.newEncryptingStream(ct, aad)) {
                    o.write(plain);
                }
                try (InputStream in = small.newDecryptingStream(new ByteArrayInputStream(ct.toByteArray()), aad)) {
                    while (in.read(sink) >= 0) {
                        // decrypt everything: the restore path needs compiling too
                    }
                }
            }
            LOG.debug("AES-GCM warm-up done in {} ms", (System.nanoTime() - start) / 1_000_000);
        } catch (Exception | LinkageError e) {
            LOG.debug("AES-GCM warm-up skipped: {}", e.toString());
        } finally {
            DONE.countDown();
        }
    }
}
