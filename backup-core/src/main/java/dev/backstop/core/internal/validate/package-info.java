/**
 * The object checks behind the built-in validators, shared by restore verification, and the run of
 * a restore drill shared by the engine modules' drills. Not API: exported only to Backstop's own
 * modules.
 */
package dev.backstop.core.internal.validate;
