/**
 * A local S3 server for tests ({@link dev.backstop.testkit.s3.LocalS3}: S3Mock in a child process,
 * nothing of it on the test's class path) and an HTTP front that injects faults
 * ({@link dev.backstop.testkit.s3.S3Front}).
 */
package dev.backstop.testkit.s3;
