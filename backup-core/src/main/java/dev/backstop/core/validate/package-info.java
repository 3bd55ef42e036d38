/**
 * The built-in {@link dev.backstop.core.Validator}s: stored checksums without keys, and a full
 * decode that proves a backup restores.
 */
package dev.backstop.core.validate;
