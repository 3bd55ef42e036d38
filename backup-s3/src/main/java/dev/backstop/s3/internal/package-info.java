/** Not API: multipart uploads, conditional puts, retries and error translation behind the S3 sink. */
package dev.backstop.s3.internal;
