/**
 * Backstop's API: the six interfaces a backup is made of, the entry points, errors and small
 * values.
 *
 * <p>The six interfaces: {@link dev.backstop.core.CaptureSource} produces the bytes, {@link
 * dev.backstop.core.Transform} encodes and decodes them, {@link dev.backstop.core.Sink} stores
 * them, {@link dev.backstop.core.Catalog} lists the backups, {@link
 * dev.backstop.core.retention.RetentionPolicy} chooses which to keep and {@link
 * dev.backstop.core.Validator} proves they restore. {@link dev.backstop.core.BackupPipeline}
 * writes a backup, {@link dev.backstop.core.Restore} reads one back, and {@link
 * dev.backstop.core.Repository} is the layout on top of a sink.
 */
package dev.backstop.core;
