/**
 * Threads and waiting shared by Backstop's modules: the factory for named daemon threads and the
 * one back-off with jitter. Not API: exported only to Backstop's own modules.
 */
package dev.backstop.core.internal.concurrent;
