/**
 * What a backup is once written: its {@link dev.backstop.core.manifest.Manifest}, the {@link
 * dev.backstop.core.manifest.StoredObject}s it names with both digests, and how they were
 * encrypted.
 */
package dev.backstop.core.manifest;
