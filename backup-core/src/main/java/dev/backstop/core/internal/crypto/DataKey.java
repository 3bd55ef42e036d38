package dev.backstop.core.internal.crypto;

import dev.backstop.core.BackupId;
import dev.backstop.core.crypto.AeadTransform;

/**
 * One backup's data key: the transform that uses it and its wrapped form.
 *
 * @param backupId the backup the key belongs to
 * @param transform the AEAD transform keyed with it
 * @param kekId the key-encryption key that wrapped it
 * @param wrapped the wrapped key as stored
 */
public record DataKey(BackupId backupId, AeadTransform transform, String kekId, byte[] wrapped) {
    @Override
    public String toString() {
        return "DataKey[" + backupId + ", kek=" + kekId + "]";
    }
}
