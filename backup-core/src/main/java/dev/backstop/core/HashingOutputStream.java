package dev.backstop.core;

import dev.backstop.core.internal.stream.ForwardingOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;

/** Passes bytes through while counting them and feeding a SHA-256; read the result after close. */
final class HashingOutputStream extends ForwardingOutputStream {
    private final MessageDigest sha = Digest.newSha256();
    private long count;
    private Digest digest;

    HashingOutputStream(OutputStream out) {
        super(out);
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        sha.update((byte) b);
        count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        sha.update(b, off, len);
        count += len;
    }

    @Override
    public void close() throws IOException {
        if (digest == null) {
            digest = Digest.of(sha.digest());
        }
        out.close();
    }

    long count() {
        return count;
    }

    /** The digest of everything written; only after {@link #close()}. */
    Digest digest() {
        if (digest == null) {
            throw new IllegalStateException("stream not closed yet");
        }
        return digest;
    }
}
