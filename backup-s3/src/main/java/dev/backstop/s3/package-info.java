/** S3 repository. */
package dev.backstop.s3;
