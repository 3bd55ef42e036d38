/** The {@code backstop} command line: backups, restores, the daemon, WAL commands and the demo. */
package dev.backstop.cli;
