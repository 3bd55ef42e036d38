/**
 * The bridge through which Backstop's packages reach the root package's non-public operations
 * (an attempt of a scheduled backup, a restore's keyed view), so those never become API.
 */
package dev.backstop.core.internal.access;
