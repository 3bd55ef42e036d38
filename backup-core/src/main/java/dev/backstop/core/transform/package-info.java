/** The built-in compression transform, registered like a user's codec. */
package dev.backstop.core.transform;
