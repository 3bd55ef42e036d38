package dev.backstop.core.log;

import dev.backstop.core.Digest;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.ObjectBinding;
import dev.backstop.core.Transform;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.List;

/**
 * Encodes and decodes one log object through its transforms (in encoding order), counting and
 * hashing the plaintext and the stored bytes on the way. The only place the archive assembles
 * transform streams.
 */
final class LogCodec {
    /** What one encode wrote. */
    record Encoded(long plaintextSize, Digest plaintextSha256, long storedSize, Digest storedSha256) {
    }

    private LogCodec() {
    }

    /**
     * Reads {@code in} to its end through {@code transforms} into {@code stored}, which is closed
     * when the encoding finishes (the caller commits or aborts the upload after).
     */
    static Encoded encode(InputStream in, OutputStream stored, List<Transform> transforms, ObjectBinding binding)
            throws IOException {
        Tap storedTap = new Tap(stored);
        OutputStream out = storedTap;
        for (int i = transforms.size() - 1; i >= 0; i--) {
            out = transforms.get(i).encode(out, binding);
        }
        Tap plainTap = new Tap(out);
        try (plainTap) {
            in.transferTo(plainTap);
        }
        return new Encoded(plainTap.count, Digest.of(plainTap.sha.digest()), storedTap.count, Digest.of(storedTap.sha.digest()));
    }

    /**
     * Decodes {@code stored} (closed when done) into {@code out} (left open) and checks both sizes and digests
     * against {@code expected}. {@code out} has the bytes before they are known good.
     *
     * @throws IntegrityException naming the object when a digest, a size or the decoding fails
     */
    static void decode(InputStream stored, OutputStream out, List<Transform> transforms, ObjectBinding binding, LogObject expected)
            throws IOException {
        Drain storedTap = new Drain(stored);
        long plainCount;
        MessageDigest plainSha = Digest.newSha256();
        try {
            InputStream in = storedTap;
            for (int i = transforms.size() - 1; i >= 0; i--) {
                in = transforms.get(i).decode(in, binding);
            }
            try (InputStream decoded = in) {
                byte[] buf = new byte[64 * 1024];
                long n = 0;
                for (int r; (r = decoded.read(buf)) >= 0; ) {
                    plainSha.update(buf, 0, r);
                    out.write(buf, 0, r);
                    n += r;
                }
                plainCount = n;
                storedTap.transferTo(OutputStream.nullOutputStream());
            }
        } catch (IntegrityException e) {
            throw e;
        } catch (IOException e) {
            if (e instanceof java.nio.file.NoSuchFileException) {
                throw e;
            }
            // the stored digest says whether the bytes changed or the transforms were wrong for them
            storedTap.transferQuietly();
            throw new IntegrityException(expected.key(), "decoding of " + what(expected), "an intact " + expected.storedSize()
                    + "-byte object with " + expected.storedSha256(), storedTap.count + " bytes read with "
                    + Digest.of(storedTap.sha.digest()) + ": " + e.getMessage(), e, null);
        }
        Digest storedDigest = Digest.of(storedTap.sha.digest());
        if (storedTap.count != expected.storedSize() || !storedDigest.equals(expected.storedSha256())) {
            throw new IntegrityException(expected.key(), "stored SHA-256 of " + what(expected), expected.storedSha256() + " ("
                    + expected.storedSize() + " bytes)", storedDigest + " (" + storedTap.count + " bytes)", null, null);
        }
        Digest plainDigest = Digest.of(plainSha.digest());
        if (plainCount != expected.plaintextSize() || !plainDigest.equals(expected.plaintextSha256())) {
            throw new IntegrityException(expected.key(), "plaintext SHA-256 of " + what(expected), expected.plaintextSha256() + " ("
                    + expected.plaintextSize() + " bytes)", plainDigest + " (" + plainCount + " bytes)", null, null);
        }
    }

    /** How messages name the object: the file, or the file and range of a delta. */
    static String what(LogObject o) {
        return o.delta() ? o.name() + LogKeys.DELTAS + LogKeys.rangeName(o.from(), o.to()) : o.name();
    }

    /** Counts and hashes what passes through to the stream below. */
    private static final class Tap extends FilterOutputStream {
        final MessageDigest sha = Digest.newSha256();
        long count;

        Tap(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            sha.update(b, off, len);
            count += len;
        }
    }

    /** Counts and hashes what is read from the stored object. */
    private static final class Drain extends FilterInputStream {
        final MessageDigest sha = Digest.newSha256();
        long count;

        Drain(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                sha.update(b, off, n);
                count += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            // read, not skipped below: every stored byte is hashed
            byte[] buf = new byte[(int) Math.max(0, Math.min(n, 8192))];
            return Math.max(0, read(buf, 0, buf.length));
        }

        /** Reads the rest, if the stream still can, so the count says how long the object is. */
        void transferQuietly() {
            try {
                transferTo(OutputStream.nullOutputStream());
            } catch (IOException ignored) {
                // already failing; the count so far is reported
            }
        }
    }
}
