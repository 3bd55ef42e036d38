/**
 * Stream machinery shared by Backstop's modules: the array-first bases every decorator extends
 * ({@link dev.backstop.core.internal.stream.BulkInputStream}, {@link
 * dev.backstop.core.internal.stream.ForwardingInputStream} and their output twins) and the
 * pipelined streams that hand chunks between two threads. Exported only to Backstop's own
 * modules; not API.
 */
package dev.backstop.core.internal.stream;
