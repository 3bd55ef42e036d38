package dev.backstop.core.internal.stream;

import dev.backstop.core.Digest;
import dev.backstop.core.internal.stream.ForwardingOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;

/** Passes bytes through while counting them and feeding a SHA-256; read the result after close. */
public final class HashingOutputStream extends ForwardingOutputStream {
    private final MessageDigest sha = Digest.newSha256();
    private long count;
    private Digest digest;

    public HashingOutputStream(OutputStream out) {
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

    public long count() {
        return count;
    }

    /** The digest of everything written; only after {@link #close()}. */
    public Digest digest() {
        if (digest == null) {
            throw new IllegalStateException("stream not closed yet");
        }
        return digest;
    }
}
