/**
 * The stored formats of a repository (manifests, validation records) and the small-object reads
 * and writes Backstop's packages share.
 */
package dev.backstop.core.internal.repo;
