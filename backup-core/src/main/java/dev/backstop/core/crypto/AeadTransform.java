package dev.backstop.core.crypto;

import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Transform;
import dev.backstop.core.TransformSpec;
import dev.backstop.core.internal.crypto.GcmSegmentDecryptingStream;
import dev.backstop.core.internal.crypto.GcmSegmentEncryptingStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;

/**
 * Tink's streaming AEAD format AES256_GCM_HKDF_1MB: 1 MiB segments, each authenticated, the last
 * one marked, so flipped, dropped, reordered or appended bytes and truncation all fail to decrypt.
 * The associated data is the object's {@link ObjectBinding}, so an object copied to another key
 * or another backup fails too.
 *
 * <p>The format is Tink's, byte for byte (Tink reads what this writes and the other way round,
 * which the tests check), but the streams are {@link GcmSegmentEncryptingStream} and {@link
 * GcmSegmentDecryptingStream}: they drive the JDK's AES-GCM in small updates, which a fresh JVM
 * compiles with its AES and GHASH intrinsics within the first few MiB, where Tink's one call per
 * 1 MiB segment stays interpreted.
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
     * Rebuilds the decoder of an {@code aead} spec: the data key of the object's backup or archive
     * ({@link Transform.Context#dataKey()}), after checking the recorded algorithm is this one.
     */
    public static final Transform.Factory FACTORY = (spec, context) -> {
        String algorithm = spec.require("algorithm");
        if (!ALGORITHM.equals(algorithm)) {
            throw new IllegalArgumentException("algorithm: got " + algorithm + ", this reader knows " + ALGORITHM);
        }
        return context.dataKey();
    };

    private final byte[] keyMaterial;

    private AeadTransform(byte[] keyMaterial) {
        this.keyMaterial = keyMaterial;
    }

    /** A transform over the 32-byte data key {@code keyMaterial} (copied). */
    public static AeadTransform withKey(byte[] keyMaterial) {
        if (keyMaterial.length != KEY_BYTES) {
            throw new IllegalArgumentException("data key: got " + keyMaterial.length + " bytes, need " + KEY_BYTES);
        }
        return new AeadTransform(keyMaterial.clone());
    }

    @Override
    public TransformSpec spec() {
        return new TransformSpec(ID, Map.of("algorithm", ALGORITHM));
    }

    @Override
    public OutputStream encode(OutputStream out, ObjectBinding binding) throws IOException {
        return new GcmSegmentEncryptingStream(out, keyMaterial, binding.associatedData());
    }

    @Override
    public InputStream decode(InputStream in, ObjectBinding binding) throws IOException {
        return new GcmSegmentDecryptingStream(in, keyMaterial, binding.associatedData());
    }

    @Override
    public String toString() {
        return "aead(" + ALGORITHM + ")";
    }
}
