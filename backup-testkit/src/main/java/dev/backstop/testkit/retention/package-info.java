/** Synthetic backup histories for testing retention policies without taking backups. */
package dev.backstop.testkit.retention;
