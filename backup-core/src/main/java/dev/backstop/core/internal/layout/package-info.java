/**
 * The repository layout: every key name ({@link dev.backstop.core.internal.layout.RepositoryLayout})
 * and the format-version rule of stored objects ({@link dev.backstop.core.internal.layout.FormatVersion}).
 * Exported only to Backstop's own modules; not API.
 */
package dev.backstop.core.internal.layout;
