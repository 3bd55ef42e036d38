/** A repository on a local or mounted filesystem: the filesystem {@link dev.backstop.core.Sink}. */
package dev.backstop.core.fs;
