package dev.backstop.core.crypto;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.StreamingAead;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingKey;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingParameters;
import com.google.crypto.tink.subtle.AesGcmHkdfStreaming;
import com.google.crypto.tink.util.SecretBytes;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Transform;
import dev.backstop.core.TransformSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.util.Map;

/**
 * Tink streaming AEAD, AES256_GCM_HKDF_1MB: 1 MiB segments, each authenticated, the last one
 * marked, so flipped, dropped, reordered or appended bytes and truncation all fail to decrypt.
 * The associated data is the object's {@link ObjectBinding}, so an object copied to another key
 * or another backup fails too.
 *
 * <p>One instance holds one backup's data key; Backstop creates it from a fresh or unwrapped data
 * key and never persists it. {@code toString()} shows no key material.
 */
public final class AeadTransform implements Transform {
    /** Id recorded in manifests. */
    public static final String ID = "aead";
    /** The one algorithm written today. */
    public static final String ALGORITHM = "AES256_GCM_HKDF_1MB";
    /** Bytes of key material per data key. */
    public static final int KEY_BYTES = 32;
    /**
     * Ciphertext bytes from which a restore has the JIT warm up AES-GCM decryption before it
     * starts. Why not always: the warm-up costs ~0.3 s of CPU, which a small object (pgbench scale
     * 100 compresses to ~8 MB) never earns back; cold AES-GCM (~65 MB/s) loses as much after ~20 MB.
     */
    private static final long WARMUP_AFTER = 32L << 20;

    private final StreamingAead aead;
    private final byte[] keyMaterial;

    private AeadTransform(StreamingAead aead, byte[] keyMaterial) {
        this.aead = aead;
        this.keyMaterial = keyMaterial;
    }

    /** A transform over the 32-byte data key {@code keyMaterial} (copied). */
    public static AeadTransform withKey(byte[] keyMaterial) {
        if (keyMaterial.length != KEY_BYTES) {
            throw new IllegalArgumentException("data key: got " + keyMaterial.length + " bytes, need " + KEY_BYTES);
        }
        try {
            AesGcmHkdfStreamingParameters params = AesGcmHkdfStreamingParameters.builder()
                    .setKeySizeBytes(KEY_BYTES)
                    .setDerivedAesGcmKeySizeBytes(32)
                    .setHkdfHashType(AesGcmHkdfStreamingParameters.HashType.SHA256)
                    .setCiphertextSegmentSizeBytes(1 << 20)
                    .build();
            AesGcmHkdfStreamingKey key = AesGcmHkdfStreamingKey.create(params,
                    SecretBytes.copyFrom(keyMaterial, InsecureSecretKeyAccess.get()));
            return new AeadTransform(AesGcmHkdfStreaming.create(key), keyMaterial.clone());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK cannot run " + ALGORITHM, e);
        }
    }

    @Override
    public TransformSpec spec() {
        return new TransformSpec(ID, Map.of("algorithm", ALGORITHM));
    }

    /**
     * Encrypts in Tink's format with {@link GcmSegmentEncryptingStream}, which a fresh JVM runs
     * several times faster than Tink's own stream; decryption stays Tink's.
     */
    @Override
    public OutputStream encode(OutputStream out, ObjectBinding binding) throws IOException {
        return new GcmSegmentEncryptingStream(out, keyMaterial, binding.associatedData());
    }

    @Override
    public InputStream decode(InputStream in, ObjectBinding binding) throws IOException {
        return decode(in, binding, -1);
    }

    /**
     * As {@link #decode(InputStream, ObjectBinding)}, for a ciphertext whose length is known
     * ({@code -1} if not). A big one (32 MiB or more) has AES-GCM decryption compiled first: the
     * first read waits for the JIT warm-up (~0.3 s of one core, once per JVM) instead of
     * decrypting at a cold JVM's ~65 MB/s meanwhile, which measured slower and costlier here
     * (107 MiB: 1.0-1.7 s after a waited warm-up, 2.1-4.8 s while warming up alongside).
     */
    public InputStream decode(InputStream in, ObjectBinding binding, long ciphertextBytes) throws IOException {
        boolean big = ciphertextBytes >= WARMUP_AFTER;
        if (big) {
            AeadWarmup.startOnce();
        }
        try {
            return aead.newDecryptingStream(new WarmupTrigger.Input(in, big), binding.associatedData());
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot start decryption of " + binding.objectKey(), e);
        }
    }

    @Override
    public String toString() {
        return "aead(" + ALGORITHM + ")";
    }

    /** Counts ciphertext bytes and starts {@link AeadWarmup} once a stream being decrypted turns out to be big. */
    private static final class WarmupTrigger {
        private WarmupTrigger() {
        }

        static final class Input extends java.io.FilterInputStream {
            /** Bounds the wait: a warm-up that cannot finish must not stall a restore. */
            private static final long MAX_WAIT_SECONDS = 5;

            private long seen;
            private boolean awaitWarmup;

            Input(InputStream in, boolean awaitWarmup) {
                super(in);
                this.awaitWarmup = awaitWarmup;
            }

            private void awaitWarmupOnce() throws java.io.InterruptedIOException {
                if (awaitWarmup) {
                    awaitWarmup = false;
                    try {
                        AeadWarmup.await(MAX_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException("interrupted while AES-GCM was being compiled");
                    }
                }
            }

            @Override
            public int read() throws IOException {
                awaitWarmupOnce();
                int b = in.read();
                if (b >= 0) {
                    count(1);
                }
                return b;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                awaitWarmupOnce();
                int n = in.read(b, off, len);
                if (n > 0) {
                    count(n);
                }
                return n;
            }

            private void count(int n) {
                if (seen < WARMUP_AFTER && (seen += n) >= WARMUP_AFTER) {
                    AeadWarmup.startOnce();
                }
            }
        }
    }
}
