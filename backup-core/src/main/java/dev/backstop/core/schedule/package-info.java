/**
 * Running backups on a schedule: when the next run is due, and retries with back-off that the
 * listeners see as attempts.
 */
package dev.backstop.core.schedule;
