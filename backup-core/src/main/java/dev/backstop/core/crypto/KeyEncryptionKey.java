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
}
