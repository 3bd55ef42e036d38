/**
 * The AES-GCM segment streams behind {@link dev.backstop.core.crypto.AeadTransform}: fixed-size
 * authenticated segments whose nonces bind the segment number and the last-segment flag.
 */
package dev.backstop.core.internal.crypto;
