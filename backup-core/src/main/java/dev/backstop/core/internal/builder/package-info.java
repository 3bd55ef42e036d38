/**
 * What Backstop's builders share: the rule that a setting is given at most once. Not API: exported
 * only to Backstop's own modules.
 */
package dev.backstop.core.internal.builder;
