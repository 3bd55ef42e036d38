/** Ephemeral databases, restore assertions and contract kits. */
package dev.backstop.testkit;
