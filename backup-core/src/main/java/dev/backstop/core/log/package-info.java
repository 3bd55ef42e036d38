/**
 * The log archive: the ordered log files of a database engine (PostgreSQL WAL segments on their
 * timelines, MariaDB/MySQL binlog files) stored in a {@link dev.backstop.core.Repository} beside
 * the backups, with the delta objects that hold an unfinished file for sub-second RPO.
 *
 * <p>{@link dev.backstop.core.log.LogStore} is the archive of one log stream; an engine adds only
 * a {@link dev.backstop.core.log.LogNaming} (which names are files, where each one lies in the
 * stream) and its own validation of the bytes. Metadata is authenticated JSON, data keys go
 * through {@link dev.backstop.core.crypto.Encryption}, retention sees the archive as a {@link
 * dev.backstop.core.retention.LogArchive}.
 */
package dev.backstop.core.log;
