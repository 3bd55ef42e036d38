/** Capture sources that are not tied to a database engine: a command's output and a file. */
package dev.backstop.core.source;
