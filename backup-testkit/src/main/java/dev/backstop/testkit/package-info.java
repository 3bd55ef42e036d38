/** Ephemeral databases, restore assertions and contract kits (local S3: backup-testkit-s3). */
package dev.backstop.testkit;
