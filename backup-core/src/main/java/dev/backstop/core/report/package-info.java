/** Compliance reports of a repository's backups, validations and recovery objectives, as JSON and HTML. */
package dev.backstop.core.report;
