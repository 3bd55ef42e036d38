/**
 * The framed zstd streams behind {@link dev.backstop.core.transform.ZstdTransform}: independent
 * frames compressed and decompressed on worker threads, with a trailing frame index.
 */
package dev.backstop.core.internal.zstd;
