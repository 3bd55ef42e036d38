package dev.backstop.core.internal.crypto;

import com.google.crypto.tink.subtle.Hkdf;
import dev.backstop.core.crypto.AeadTransform;
import dev.backstop.core.internal.stream.BulkOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Writes Tink's streaming AEAD format AES256_GCM_HKDF_1MB, segment for segment what Tink's own
 * encrypting stream writes, so Tink's decrypting stream reads it: a 40-byte header (its length,
 * a 32-byte random salt, a 7-byte random nonce prefix); then 1 MiB ciphertext segments (the first
 * 40 bytes shorter), each AES-256-GCM under the key HKDF-SHA256(data key, salt, associated data)
 * with the nonce prefix, the big-endian segment number and a last-segment byte; the last one
 * short, never empty unless the plaintext is. A full segment is sealed only once a further byte
 * arrives, so a stream that ends on a segment boundary marks that segment last, as Tink does.
 *
 * <p>Why not Tink's stream: it hands AES-GCM a whole 1 MiB segment per call, and HotSpot uses its
 * AES and GHASH intrinsics only from callers C2 has compiled, which a few calls of 1 MiB never
 * are in a fresh JVM; fed in {@value #CHUNK}-byte updates the same methods are compiled within the
 * first few MiB (figures: benchmarks/RESULTS.md, cold start). The bytes written are the same
 * either way.
 *
 * <p>Closing seals the last segment and closes the downstream stream, as Tink's does. Not
 * thread-safe.
 */
public final class GcmSegmentEncryptingStream extends BulkOutputStream {
    public static final int CIPHERTEXT_SEGMENT = 1 << 20;
    public static final int TAG = 16;
    public static final int PREFIX = 7;
    public static final int HEADER = 1 + AeadTransform.KEY_BYTES + PREFIX;
    /** Measured best for a cold JVM (1-2 KiB; 4-64 KiB were 1.5-5× slower); a multiple of 16. */
    private static final int CHUNK = 1024;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final OutputStream out;
    private final Cipher cipher;
    private final SecretKeySpec key;
    private final byte[] noncePrefix = new byte[PREFIX];
    private final byte[] plain = new byte[CIPHERTEXT_SEGMENT - TAG];
    private final byte[] sealed = new byte[CIPHERTEXT_SEGMENT];
    private int fill;
    private int limit = CIPHERTEXT_SEGMENT - TAG - HEADER;
    private long segment;
    private boolean closed;

    public GcmSegmentEncryptingStream(OutputStream out, byte[] dataKey, byte[] associatedData) throws IOException {
        this.out = out;
        byte[] salt = new byte[AeadTransform.KEY_BYTES];
        RANDOM.nextBytes(salt);
        RANDOM.nextBytes(noncePrefix);
        byte[] derived = null;
        try {
            derived = Hkdf.computeHkdf("HmacSha256", dataKey, salt, associatedData, AeadTransform.KEY_BYTES);
            key = new SecretKeySpec(derived, "AES");
            cipher = Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot start AES-GCM encryption: " + e, e);
        } finally {
            if (derived != null) {
                Arrays.fill(derived, (byte) 0); // SecretKeySpec keeps its own copy
            }
        }
        byte[] header = new byte[HEADER];
        header[0] = (byte) HEADER;
        System.arraycopy(salt, 0, header, 1, salt.length);
        System.arraycopy(noncePrefix, 0, header, 1 + salt.length, PREFIX);
        out.write(header);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("write after close");
        }
        while (len > limit - fill) {
            int n = limit - fill;
            System.arraycopy(b, off, plain, fill, n);
            fill += n;
            off += n;
            len -= n;
            seal(false);
        }
        System.arraycopy(b, off, plain, fill, len);
        fill += len;
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            seal(true);
        } finally {
            out.close();
        }
    }

    private void seal(boolean last) throws IOException {
        if (segment > 0xFFFF_FFFFL) {
            throw new IOException("stream too long for AES256_GCM_HKDF_1MB: more than 2^32 segments (4 PiB)");
        }
        byte[] nonce = nonce(noncePrefix, segment, last);
        int n = 0;
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG * 8, nonce));
            int p = 0;
            for (; fill - p > CHUNK; p += CHUNK) {
                n += cipher.update(plain, p, CHUNK, sealed, n);
            }
            n += cipher.doFinal(plain, p, fill - p, sealed, n);
        } catch (GeneralSecurityException e) {
            throw new IOException("AES-GCM encryption of segment " + segment + " failed: " + e, e);
        }
        segment++;
        out.write(sealed, 0, n);
        fill = 0;
        limit = CIPHERTEXT_SEGMENT - TAG;
    }

    /** Segment {@code segment}'s GCM nonce: the 7-byte prefix, the big-endian segment number, 1 if last else 0. */
    public static byte[] nonce(byte[] prefix, long segment, boolean last) {
        byte[] nonce = new byte[12];
        System.arraycopy(prefix, 0, nonce, 0, PREFIX);
        nonce[7] = (byte) (segment >>> 24);
        nonce[8] = (byte) (segment >>> 16);
        nonce[9] = (byte) (segment >>> 8);
        nonce[10] = (byte) segment;
        nonce[11] = (byte) (last ? 1 : 0);
        return nonce;
    }
}
