package dev.backstop.core.crypto;

import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gets the JDK's AES-GCM compiled before real data arrives, once per direction and JVM.
 *
 * <p>Why: HotSpot uses its AES and GHASH intrinsics only from callers compiled by C2. Tink calls
 * {@code Cipher.doFinal} once per 1 MiB segment, so in a fresh JVM those callers stay interpreted
 * for the first gigabyte or so and AES-GCM crawls at 50-100 MB/s (measured here: 107 MiB took
 * 1.6 s to encrypt and 1.8 s to decrypt). The same {@code Cipher.init}/{@code doFinal(ByteBuffer,
 * ByteBuffer)} calls Tink makes, on 1 KiB instead of 1 MiB, reach the C2 thresholds in ~0.2 s;
 * afterwards the same 107 MiB took 0.05 s. (An earlier version pushed tiny Tink streams through
 * both directions: ~0.8 s of a core; the direct loop does one direction in a third of that.)
 *
 * <p>Runs on a daemon thread with a throwaway all-zero key and touches no backup. Started by
 * {@link AeadTransform} for streams big enough to earn its CPU back.
 */
final class AeadWarmup {
    /** Which half of AES-GCM to compile: encryption for backups, decryption for restores. */
    enum Direction {
        ENCRYPT, DECRYPT
    }

    private static final Logger LOG = LoggerFactory.getLogger(AeadWarmup.class);
    /** Well past C2's invocation threshold (5,000) for every method on the path, at ~7 µs each. */
    private static final int CALLS = 30_000;
    private static final int SEGMENT = 1024;
    private static final int TAG_BITS = 128;
    private static final Map<Direction, AtomicBoolean> STARTED = new EnumMap<>(Map.of(
            Direction.ENCRYPT, new AtomicBoolean(), Direction.DECRYPT, new AtomicBoolean()));
    private static final Map<Direction, CountDownLatch> DONE = new EnumMap<>(Map.of(
            Direction.ENCRYPT, new CountDownLatch(1), Direction.DECRYPT, new CountDownLatch(1)));

    private AeadWarmup() {
    }

    static void startOnce(Direction direction) {
        if (!STARTED.get(direction).compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(() -> run(direction), "backstop-aead-warmup-" + direction.name().toLowerCase(java.util.Locale.ROOT));
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    /** Waits for a started warm-up to finish (benchmarks and tests that want a warm start). */
    static boolean await(Direction direction, long timeout, TimeUnit unit) throws InterruptedException {
        return DONE.get(direction).await(timeout, unit);
    }

    private static void run(Direction direction) {
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
            byte[] scratch = new byte[SEGMENT + TAG_BITS / 8];
            for (int i = 0; i < CALLS; i++) {
                if (direction == Direction.ENCRYPT) {
                    // a fresh nonce per call, as Tink uses per segment: GCM refuses a reused one
                    iv[8] = (byte) (i >>> 16);
                    iv[9] = (byte) (i >>> 8);
                    iv[10] = (byte) i;
                    iv[11] = 1;
                    cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, iv));
                    plain.clear();
                    ByteBuffer out = ByteBuffer.wrap(scratch);
                    cipher.doFinal(plain, out);
                } else {
                    cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, new byte[12]));
                    plain.clear();
                    cipher.doFinal(sealed.duplicate(), plain);
                }
            }
            LOG.debug("AES-GCM {} warm-up done in {} ms", direction, (System.nanoTime() - start) / 1_000_000);
        } catch (Exception | LinkageError e) {
            LOG.debug("AES-GCM {} warm-up skipped: {}", direction, e.toString());
        } finally {
            DONE.get(direction).countDown();
        }
    }
}
