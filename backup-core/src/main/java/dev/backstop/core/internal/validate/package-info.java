/** The object checks behind the built-in validators, shared by restore verification. */
package dev.backstop.core.internal.validate;
