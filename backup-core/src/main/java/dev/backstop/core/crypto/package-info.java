/**
 * Envelope encryption: per-backup data keys wrapped by a {@link
 * dev.backstop.core.crypto.KeyEncryptionKey}, the AEAD transform that uses them, the repository's
 * metadata key, key rotation and crypto-erase.
 */
package dev.backstop.core.crypto;
