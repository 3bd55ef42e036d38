/** The S3Mock child process's entry point; not API. */
package dev.backstop.testkit.s3.internal;
