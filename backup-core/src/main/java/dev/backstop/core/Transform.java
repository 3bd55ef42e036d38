package dev.backstop.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * One reversible byte-stream stage, such as compression or encryption.
 *
 * <p><b>Guarantees an implementation must give.</b> For every byte sequence {@code b},
 * {@code decode(encode(b))} yields {@code b}. The stream returned by {@code encode} finishes the
 * encoding and closes {@code out} when closed. The stream returned by {@code decode} reports
 * truncated or corrupted input as an {@link IOException} rather than as a short or wrong result,
 * where the format allows it to know (AEAD always does; zstd knows truncation).
 *
 * <p><b>Restrictions.</b> {@link #spec()} must hold everything {@code decode} needs except key
 * material, because restores rebuild transforms from the manifest.
 *
 * <p><b>Restoring.</b> A restore never sees the transform that wrote an object, only its
 * {@link TransformSpec}; a {@link Factory} registered under the spec's id in a {@link
 * TransformRegistry} rebuilds it. The built-in zstd and AEAD transforms are resolved that way too.
 *
 * <p><b>Threading.</b> A transform is immutable and may encode many objects concurrently.
 */
public interface Transform {

    /** Id and parameters recorded in the manifest. */
    TransformSpec spec();

    /** Wraps {@code out} so bytes written are encoded into it. */
    OutputStream encode(OutputStream out, ObjectBinding binding) throws IOException;

    /** Wraps {@code in} so bytes read are decoded from it. */
    InputStream decode(InputStream in, ObjectBinding binding) throws IOException;

    /**
     * Rebuilds a transform from the spec a manifest (or log metadata) recorded, to decode one
     * object. Registered in a {@link TransformRegistry} under the spec's id.
     *
     * <p><b>Contract.</b> Returns a transform whose {@code decode} undoes what the recorded one
     * encoded; a spec it cannot use (missing or unknown parameter) is an {@link
     * IllegalArgumentException} naming the parameter. Must be thread-safe.
     */
    @FunctionalInterface
    interface Factory {
        Transform create(TransformSpec spec, Context context);
    }

    /**
     * What a {@link Factory} may need besides the spec: which object it decodes and, for a
     * transform that encrypts, the data key of the object's backup or log archive. Key material is
     * reachable only through {@link #dataKey()}, and only when the caller has keys.
     */
    interface Context {
        /** The object being decoded and the scope (backup or log stream) it is bound to. */
        ObjectBinding binding();

        /**
         * The transform holding the data key the object was encrypted with, unwrapped by the
         * key-encryption key on first use.
         *
         * @throws BackupException at {@link Stage#KEY} when no key is available to this reader
         */
        Transform dataKey();

        /** A context whose {@link #dataKey()} comes from {@code dataKey} (called at most once per decode). */
        static Context of(ObjectBinding binding, Supplier<? extends Transform> dataKey) {
            Objects.requireNonNull(binding, "binding");
            Objects.requireNonNull(dataKey, "dataKey");
            return new Context() {
                @Override
                public ObjectBinding binding() {
                    return binding;
                }

                @Override
                public Transform dataKey() {
                    return dataKey.get();
                }
            };
        }

        /** A context without keys: decoding an encrypted object fails at {@link Stage#KEY}, naming it. */
        static Context withoutKeys(ObjectBinding binding) {
            return of(binding, () -> {
                throw new BackupException(Stage.KEY, "object " + binding.objectKey() + " is encrypted, and this reader "
                        + "was given no key-encryption key", null, false, null);
            });
        }
    }
}
