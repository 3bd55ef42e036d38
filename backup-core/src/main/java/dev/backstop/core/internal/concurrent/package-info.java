/**
 * Threads and waiting shared by Backstop's modules: the factory for named daemon threads, the
 * one back-off with jitter, the one readiness poll of a server this process started and the run of
 * the programs that set such a server up, and the log context (MDC) that a job's hand-off threads
 * carry. Not API: exported only to Backstop's own modules.
 */
package dev.backstop.core.internal.concurrent;
