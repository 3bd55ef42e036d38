/**
 * Which backups and log ranges to keep: retention policies, legal holds, storage tiers, and the
 * expiry that applies them without ever deleting what a kept backup needs.
 */
package dev.backstop.core.retention;
