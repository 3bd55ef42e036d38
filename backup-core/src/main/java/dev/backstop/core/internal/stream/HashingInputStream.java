package dev.backstop.core.internal.stream;

import dev.backstop.core.BackupId;
import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.internal.stream.ForwardingInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/**
 * Counts and hashes the bytes read through it, and checks them against the expected size and
 * digest the moment the underlying stream ends: the reader sees an {@link IntegrityException}
 * instead of end-of-stream when anything differs.
 */
public final class HashingInputStream extends ForwardingInputStream {
    private final MessageDigest sha = Digest.newSha256();
    private final String key;
    private final String what;
    private final long expectedSize;
    private final Digest expected;
    private final BackupId backupId;
    private long count;
    private boolean verified;

    public HashingInputStream(InputStream in, String key, String what, long expectedSize, Digest expected, BackupId backupId) {
        super(in);
        this.key = key;
        this.what = what;
        this.expectedSize = expectedSize;
        this.expected = expected;
        this.backupId = backupId;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        int n = in.read(b, off, len);
        if (n < 0) {
            verify();
            return -1;
        }
        sha.update(b, off, n);
        count += n;
        if (count > expectedSize) {
            throw new IntegrityException(key, what + " size", expectedSize + " bytes", "more (data appended)", null, backupId);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // skipping would bypass the digest
        byte[] buf = new byte[(int) Math.min(n, 8192)];
        int r = read(buf, 0, buf.length);
        return Math.max(r, 0);
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    private void verify() {
        if (verified) {
            return;
        }
        if (count != expectedSize) {
            throw new IntegrityException(key, what + " size", expectedSize + " bytes", count + " bytes", null, backupId);
        }
        Digest actual = Digest.of(sha.digest());
        if (!actual.equals(expected)) {
            throw new IntegrityException(key, what + " SHA-256", expected.hex(), actual.hex(), null, backupId);
        }
        verified = true;
    }

    /** Whether the stream was read to its end and matched. */
    public boolean verified() {
        return verified;
    }

    public long count() {
        return count;
    }
}
