package dev.backstop.s3;

import java.util.Objects;

/**
 * Server-side encryption requested for every object an {@link S3Sink} writes. This is on top of
 * Backstop's own envelope encryption, not instead of it: S3 sees only ciphertext when the
 * pipeline encrypts.
 *
 * <p>Immutable. {@code toString()} shows the KMS key id, which names a key but is no secret.
 */
public final class S3Encryption {
    private static final S3Encryption BUCKET_DEFAULT = new S3Encryption(Kind.BUCKET_DEFAULT, null);
    private static final S3Encryption S3_MANAGED = new S3Encryption(Kind.S3_MANAGED, null);

    enum Kind { BUCKET_DEFAULT, S3_MANAGED, KMS }

    private final Kind kind;
    private final String kmsKeyId;

    private S3Encryption(Kind kind, String kmsKeyId) {
        this.kind = kind;
        this.kmsKeyId = kmsKeyId;
    }

    /** Sends no encryption header; the bucket's default encryption applies. */
    public static S3Encryption bucketDefault() {
        return BUCKET_DEFAULT;
    }

    /** SSE-S3: keys managed by S3 ({@code AES256}). */
    public static S3Encryption s3Managed() {
        return S3_MANAGED;
    }

    /** SSE-KMS with the given key id, alias or ARN. */
    public static S3Encryption kms(String keyId) {
        Objects.requireNonNull(keyId, "keyId");
        if (keyId.isBlank()) {
            throw new IllegalArgumentException("SSE-KMS key id: got a blank string, expected a key id, alias or ARN");
        }
        return new S3Encryption(Kind.KMS, keyId);
    }

    /** SSE-KMS with the account's AWS-managed {@code aws/s3} key. */
    public static S3Encryption kmsDefaultKey() {
        return new S3Encryption(Kind.KMS, null);
    }

    Kind kind() {
        return kind;
    }

    String kmsKeyId() {
        return kmsKeyId;
    }

    @Override
    public String toString() {
        return switch (kind) {
            case BUCKET_DEFAULT -> "bucket-default";
            case S3_MANAGED -> "SSE-S3";
            case KMS -> "SSE-KMS(" + (kmsKeyId == null ? "aws/s3" : kmsKeyId) + ")";
        };
    }
}
