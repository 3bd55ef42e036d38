/**
 * Ephemeral databases, restore assertions and contract kits (local S3: backup-testkit-s3), and
 * the parts tests put in place of time, threads and storage: {@link dev.backstop.testkit.MutableClock},
 * {@link dev.backstop.testkit.ManualExecutor} and {@link dev.backstop.testkit.ForwardingSink}.
 */
package dev.backstop.testkit;
