/**
 * What a backup, restore, validation or expiry reports while it runs: the {@link
 * dev.backstop.core.event.BackupListener} seam and the listeners built on it (logging, metrics,
 * alerts, webhooks, the repository's audit log).
 */
package dev.backstop.core.event;
