package dev.backstop.s3.internal;

import dev.backstop.core.Digest;
import dev.backstop.s3.PartChecksum;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/** The checksum of the part being buffered, in the algorithm S3 is to check. */
abstract class PartHash {
    abstract void update(byte[] b, int off, int len);

    /** The checksum as S3 writes it (base64 of its bytes), and a fresh start for the next part. */
    abstract String finish();

    /** A fresh checksum in {@code checksum}'s algorithm. */
    static PartHash of(PartChecksum checksum) {
        return checksum == PartChecksum.CRC32C ? new Crc32cHash() : new Sha256Hash();
    }

    /**
     * S3's checksum of a multipart object: the checksum over the parts' raw checksums, then
     * {@code -<part count>}. Null when a part's checksum is unknown.
     */
    static String composite(PartChecksum checksum, List<CompletedPart> done) {
        boolean sha256 = checksum != PartChecksum.CRC32C;
        PartHash h = of(checksum);
        for (CompletedPart p : done) {
            String c = sha256 ? p.checksumSHA256() : p.checksumCRC32C();
            if (c == null) {
                return null;
            }
            byte[] raw = Base64.getDecoder().decode(c);
            h.update(raw, 0, raw.length);
        }
        return h.finish() + "-" + done.size();
    }

    private static final class Sha256Hash extends PartHash {
        private final MessageDigest md = Digest.newSha256();

        @Override
        void update(byte[] b, int off, int len) {
            md.update(b, off, len);
        }

        @Override
        String finish() {
            return Base64.getEncoder().encodeToString(md.digest());
        }
    }

    private static final class Crc32cHash extends PartHash {
        private final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();

        @Override
        void update(byte[] b, int off, int len) {
            crc.update(b, off, len);
        }

        @Override
        String finish() {
            byte[] v = ByteBuffer.allocate(4).putInt((int) crc.getValue()).array();
            crc.reset();
            return Base64.getEncoder().encodeToString(v);
        }
    }
}
