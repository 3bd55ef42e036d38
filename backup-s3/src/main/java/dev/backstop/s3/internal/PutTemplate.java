package dev.backstop.s3.internal;

import dev.backstop.s3.PartChecksum;
import java.time.Instant;
import software.amazon.awssdk.services.s3.model.ObjectLockLegalHoldStatus;
import software.amazon.awssdk.services.s3.model.ObjectLockMode;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.StorageClass;

/**
 * Everything a PUT (or CreateMultipartUpload) of one object sets besides its bytes. Null fields
 * are left to the bucket's defaults.
 *
 * @param ifNoneMatch whether publishing must fail when the key is taken ({@code If-None-Match: *})
 * @param checksum    the checksum every part and single PUT carries
 */
public record PutTemplate(StorageClass storageClass, ServerSideEncryption sse, String kmsKeyId,
                          ObjectLockMode lockMode, Instant retainUntil, ObjectLockLegalHoldStatus legalHold,
                          boolean ifNoneMatch, PartChecksum checksum) {
}
