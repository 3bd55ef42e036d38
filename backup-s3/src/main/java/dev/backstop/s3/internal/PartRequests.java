package dev.backstop.s3.internal;

import dev.backstop.s3.PartChecksum;
import java.nio.ByteBuffer;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/** The shapes of an upload's requests: what a {@link PutTemplate} says, and a part's bytes as a body. */
final class PartRequests {
    private static final int SLICE = 128 * 1024;

    private PartRequests() {
    }

    /** A single PUT of {@code len} bytes whose checksum (in the template's algorithm) is {@code checksum}. */
    static PutObjectRequest put(PutTemplate template, String bucket, String s3Key, int len, String checksum) {
        PutObjectRequest.Builder req = PutObjectRequest.builder().bucket(bucket).key(s3Key).contentLength((long) len)
                .storageClass(template.storageClass()).serverSideEncryption(template.sse()).ssekmsKeyId(template.kmsKeyId())
                .objectLockMode(template.lockMode()).objectLockRetainUntilDate(template.retainUntil())
                .objectLockLegalHoldStatus(template.legalHold());
        if (template.ifNoneMatch()) {
            req.ifNoneMatch("*");
        }
        if (template.checksum() != PartChecksum.CRC32C) {
            req.checksumSHA256(checksum);
        } else {
            req.checksumCRC32C(checksum);
        }
        return req.build();
    }

    /** CreateMultipartUpload for {@code s3Key}, with the template's checksum algorithm, class, encryption and lock. */
    static CreateMultipartUploadRequest createMultipart(PutTemplate template, String bucket, String s3Key) {
        return CreateMultipartUploadRequest.builder().bucket(bucket).key(s3Key)
                .checksumAlgorithm(template.checksum() != PartChecksum.CRC32C ? ChecksumAlgorithm.SHA256 : ChecksumAlgorithm.CRC32_C)
                .storageClass(template.storageClass()).serverSideEncryption(template.sse()).ssekmsKeyId(template.kmsKeyId())
                .objectLockMode(template.lockMode()).objectLockRetainUntilDate(template.retainUntil())
                .objectLockLegalHoldStatus(template.legalHold()).build();
    }

    /**
     * The part as slices of the buffer, not one huge buffer: the SDK frames and checksums each
     * buffer it is given and copies it once more on the way to the socket, and for one 16 MiB
     * buffer that costs measurably more than for many small ones. No bytes are copied here.
     */
    static AsyncRequestBody body(byte[] buf, int len) {
        int n = (len + SLICE - 1) / SLICE;
        ByteBuffer[] slices = new ByteBuffer[Math.max(n, 1)];
        for (int i = 0; i < n; i++) {
            slices[i] = ByteBuffer.wrap(buf, i * SLICE, Math.min(SLICE, len - i * SLICE)).slice();
        }
        if (n == 0) {
            slices[0] = ByteBuffer.allocate(0);
        }
        return AsyncRequestBody.fromRemainingByteBuffersUnsafe(slices);
    }
}
