/**
 * The encoding and decoding chains: stream assembly over the registered transforms, both digests,
 * the hand-off threads and the classification of failures, for backups and the log archive alike.
 */
package dev.backstop.core.internal.chain;
