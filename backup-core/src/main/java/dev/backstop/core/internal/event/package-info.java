/** The guard that keeps a user's listener from throwing into a backup or restore. */
package dev.backstop.core.internal.event;
