package dev.backstop.core.manifest;

import java.util.Objects;

/**
 * How a backup's data is encrypted: the streaming AEAD algorithm, the key-encryption key that
 * wrapped its data key when it was taken, and where the wrapped data key is stored. Holds no key
 * material.
 */
public record EncryptionInfo(String algorithm, String kekId, String keyObject) {
    public EncryptionInfo {
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(kekId, "kekId");
        Objects.requireNonNull(keyObject, "keyObject");
    }
}
