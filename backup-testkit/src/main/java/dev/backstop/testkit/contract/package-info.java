/** Contract test suites that a sink, catalog, transform or key-encryption key passes by extending them. */
package dev.backstop.testkit.contract;
