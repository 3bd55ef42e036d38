package dev.backstop.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

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
 * <p><b>Threading.</b> A transform is immutable and may encode many objects concurrently.
 */
public interface Transform {

    /** Id and parameters recorded in the manifest. */
    TransformSpec spec();

    /** Wraps {@code out} so bytes written are encoded into it. */
    OutputStream encode(OutputStream out, ObjectBinding binding) throws IOException;

    /** Wraps {@code in} so bytes read are decoded from it. */
    InputStream decode(InputStream in, ObjectBinding binding) throws IOException;
}
