/**
 * Copies of a repository elsewhere: replicating backups with verification records, writing to
 * several sinks at once, and copies a storage service makes on its own side.
 */
package dev.backstop.core.replication;
