/** The stored lease format of repository locks and the keeper thread that renews a held lease. */
package dev.backstop.core.internal.lock;
