/** PostgreSQL capture, restore and verification. */
package dev.backstop.postgres;
