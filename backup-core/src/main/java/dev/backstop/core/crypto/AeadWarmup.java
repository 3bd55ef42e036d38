package dev.backstop.core.crypto;

import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gets the JDK's AES-GCM decryption compiled before a big restore starts, once per JVM.
 *
 * <p>Why: HotSpot uses its AES and GHASH intrinsics only from callers compiled by C2. Tink calls
 * {@code Cipher.doFinal} once per 1 MiB segment, and GCM decryption holds back all of a segment
 * until that call (it must check the tag first), so in a fresh JVM those callers stay interpreted
 * for the first gigabyte or so and AES-GCM crawls at 50-100 MB/s (measured here: 107 MiB took
 * 1.8 s to decrypt). Encryption needs no warm-up: {@link GcmSegmentEncryptingStream} feeds it in
 * small updates, which get compiled on the data itself. The same {@code Cipher.init}/{@code doFinal(ByteBuffer,
 * ByteBuffer)} calls Tink makes, on 1 KiB instead of 1 MiB, reach the C2 thresholds in ~0.2 s;
 * afterwards the same 107 MiB took 0.05 s. (An earlier version pushed tiny Tink streams through
 * both directions: ~0.8 s of a core; the direct loop does decryption in a third of that.)
 *
 * <p>Runs on a daemon thread with a throwaway all-zero key and touches no backup. Started by
 * {@link AeadTransform} for streams big enough to earn its CPU back.
 */
final class AeadWarmup {
    private static final Logger LOG = LoggerFactory.getLogger(AeadWarmup.class);
    /** Well past C2's invocation threshold (5,000) for every method on the path, at ~7 µs each. */
    private static final int CALLS = 30_000;
    private static final int SEGMENT = 1024;
    private static final int TAG_BITS = 128;
    private static final AtomicBoolean STARTED = new AtomicBoolean();
    private static final CountDownLatch DONE = new CountDownLatch(1);

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

    /** Waits for a started warm-up to finish (benchmarks and tests that want a warm start). */
    static boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return DONE.await(timeout, unit);
    }

    private static void run() {
        long start = System.nanoTime();
        try {
            SecretKeySpec key = new SecretKeySpec(new byte[AeadTransform.KEY_BYTES], "AES");
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            byte[] iv = new byte[12];
            ByteBuffer plain = ByteBuffer.allocate(SEGMENT);
            ByteBuffer sealed = ByteBuffer.allocate(SEGMENT + TAG_BITS / 8);
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
            cipher.doFinal(plain, sealed);
            sealed.flip();
            for (int i = 0; i < CALLS; i++) {
                cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
                plain.clear();
                cipher.doFinal(sealed.duplicate(), plain);
            }
            LOG.debug("AES-GCM decryption warm-up done in {} ms", (System.nanoTime() - start) / 1_000_000);
        } catch (Exception | LinkageError e) {
            LOG.debug("AES-GCM decryption warm-up skipped: {}", e.toString());
        } finally {
            DONE.countDown();
        }
    }
}
