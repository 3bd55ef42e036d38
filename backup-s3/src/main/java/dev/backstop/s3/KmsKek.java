package dev.backstop.s3;

import dev.backstop.core.crypto.KeyEncryptionKey;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.EncryptionAlgorithmSpec;
import software.amazon.awssdk.services.kms.model.IncorrectKeyException;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * A {@link KeyEncryptionKey} in AWS KMS: data keys are wrapped with {@code Encrypt} and
 * unwrapped with {@code Decrypt} under one symmetric KMS key; the key material never leaves KMS.
 *
 * <p><b>Guarantees.</b> The wrapping context is sent as the KMS encryption context (entry {@code
 * backstop-context}, base64), so KMS refuses to unwrap under another context, and it is visible
 * in CloudTrail. {@code Decrypt} names the expected key, so a key wrapped under another KMS key
 * fails instead of being silently unwrapped by it. Authentication and authorization failures
 * come back as {@link GeneralSecurityException} when KMS says the ciphertext or key is wrong,
 * and as {@link IOException} for everything else (network, throttling, access denied), naming
 * the key.
 *
 * <p><b>Rotation.</b> Rotate inside KMS (automatic key rotation keeps old backing keys for
 * Decrypt); the key id stays the same, so nothing needs rewrapping. {@code Encryption.rewrap}
 * unwraps with the KEK it re-wraps with, so it cannot move a repository to another KMS key: a
 * {@code KmsKek} of the new key cannot unwrap what the old one wrapped.
 *
 * <p><b>Threading.</b> Safe for concurrent use. The {@link KmsClient} is the caller's and is
 * never closed here. {@code toString()} shows the key id only.
 */
public final class KmsKek implements KeyEncryptionKey {
    static final String CONTEXT_ENTRY = "backstop-context";

    private final KmsClient kms;
    private final String keyId;

    private KmsKek(KmsClient kms, String keyId) {
        this.kms = kms;
        this.keyId = keyId;
    }

    /** A KEK using the KMS key {@code keyId} (key id, ARN, alias name or alias ARN). */
    public static KmsKek of(KmsClient kms, String keyId) {
        Objects.requireNonNull(kms, "kms");
        Objects.requireNonNull(keyId, "keyId");
        if (keyId.isBlank()) {
            throw new IllegalArgumentException("KMS key id: got a blank string, expected a key id, ARN or alias/...");
        }
        return new KmsKek(kms, keyId);
    }

    @Override
    public String id() {
        return "aws-kms:" + keyId;
    }

    @Override
    public byte[] wrap(byte[] dataKey, byte[] context) throws GeneralSecurityException, IOException {
        try {
            return kms.encrypt(b -> b.keyId(keyId).plaintext(SdkBytes.fromByteArray(dataKey))
                            .encryptionAlgorithm(EncryptionAlgorithmSpec.SYMMETRIC_DEFAULT)
                            .encryptionContext(contextOf(context)))
                    .ciphertextBlob().asByteArray();
        } catch (KmsException e) {
            throw failure("Encrypt", e);
        } catch (SdkException e) {
            throw new IOException("KMS Encrypt with key " + keyId + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public byte[] unwrap(byte[] wrapped, byte[] context) throws GeneralSecurityException, IOException {
        try {
            DecryptResponse r = kms.decrypt(b -> b.keyId(keyId).ciphertextBlob(SdkBytes.fromByteArray(wrapped))
                    .encryptionAlgorithm(EncryptionAlgorithmSpec.SYMMETRIC_DEFAULT)
                    .encryptionContext(contextOf(context)));
            return r.plaintext().asByteArray();
        } catch (InvalidCiphertextException | IncorrectKeyException e) {
            throw new GeneralSecurityException("KMS key " + keyId + " cannot unwrap this data key: it was wrapped under"
                    + " another key or another context (" + e.awsErrorDetails().errorCode() + ")", e);
        } catch (KmsException e) {
            throw failure("Decrypt", e);
        } catch (SdkException e) {
            throw new IOException("KMS Decrypt with key " + keyId + " failed: " + e.getMessage(), e);
        }
    }

    private IOException failure(String op, KmsException e) {
        String code = e.awsErrorDetails() == null ? "?" : e.awsErrorDetails().errorCode();
        return new IOException("KMS " + op + " with key " + keyId + " failed: HTTP " + e.statusCode() + " " + code
                + " (request id " + e.requestId() + ")", e);
    }

    private static Map<String, String> contextOf(byte[] context) {
        return Map.of(CONTEXT_ENTRY, Base64.getEncoder().encodeToString(context));
    }

    @Override
    public String toString() {
        return "KmsKek[" + keyId + "]";
    }
}
