package dev.backstop.core.crypto;

import java.io.IOException;
import java.security.GeneralSecurityException;

/**
 * A key-encryption key (KEK): wraps and unwraps the per-backup data keys. Backstop never stores
 * a plaintext data key; only what {@link #wrap} returns.
 *
 * <p><b>Guarantees an implementation must give.</b> {@code unwrap(wrap(k, c), c)} returns
 * {@code k}; unwrapping with a different {@code context} or a different key fails with {@link
 * GeneralSecurityException}. After rotation, {@link #unwrap} still accepts keys wrapped by every
 * retired key the implementation still holds, while {@link #wrap} uses the newest.
 *
 * <p><b>Threading.</b> Safe for concurrent use. Implementations never reveal key material in
 * {@code toString()}.
 */
public interface KeyEncryptionKey {

    /** Identifies the key that {@link #wrap} uses now, e.g. {@code local:1862338214}; recorded in manifests. */
    String id();

    /** Encrypts {@code dataKey}, binding it to {@code context}. */
    byte[] wrap(byte[] dataKey, byte[] context) throws GeneralSecurityException, IOException;

    /** Decrypts a wrapped key; fails if it was bound to another context or wrapped by an unknown key. */
    byte[] unwrap(byte[] wrapped, byte[] context) throws GeneralSecurityException, IOException;

    /**
     * A KEK for moving a repository from {@code from} to another KEK {@code to} (a local keyset
     * to a KMS key, one KMS key to another): it wraps with {@code to}, has {@code to}'s {@link
     * #id()}, and unwraps with {@code to}, or with {@code from} when {@code to} refuses the
     * wrapped key as not its own. {@code Encryption.with(migrating(to, from)).rewrap(repository)}
     * then re-wraps every stored key under {@code to}; a re-wrap cut short is finished by running
     * it again, and the repository opens with this KEK at every moment in between. An I/O failure
     * of {@code to} (a KMS that cannot be reached) is thrown, never answered with {@code from}.
     */
    static KeyEncryptionKey migrating(KeyEncryptionKey to, KeyEncryptionKey from) {
        return new MigratingKek(to, from);
    }
}
