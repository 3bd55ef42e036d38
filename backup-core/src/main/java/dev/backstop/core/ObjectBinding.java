package dev.backstop.core;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The identity an object's bytes are bound to: its backup and its key. Encryption uses it as
 * associated data, so an object moved to another key or another backup fails to decrypt.
 */
public record ObjectBinding(String scope, String objectKey) {
    public ObjectBinding {
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(objectKey, "objectKey");
    }

    public static ObjectBinding of(BackupId id, String objectKey) {
        return new ObjectBinding(id.value(), objectKey);
    }

    /** The associated data: {@code backstop/v1/<scope>/<objectKey>}. */
    public byte[] associatedData() {
        return ("backstop/v1/" + scope + "/" + objectKey).getBytes(StandardCharsets.UTF_8);
    }

    /** The backup this binds to, or null for a scope that is not a backup (a log stream); for error reports. */
    BackupId backupIdOrNull() {
        return BackupId.isValid(scope) ? BackupId.parse(scope) : null;
    }
}
