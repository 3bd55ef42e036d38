/**
 * The repository lock: leases stored in the repository itself with conditional writes, so a
 * backup and an expiry on different hosts never run over each other.
 */
package dev.backstop.core.lock;
