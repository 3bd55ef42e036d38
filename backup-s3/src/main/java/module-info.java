/**
 * Backstop on S3: a streaming multipart {@link dev.backstop.s3.S3Sink}, Object Lock, storage
 * classes and lifecycle rules, and AWS KMS as a key-encryption key.
 */
module dev.backstop.s3 {
    requires transitive dev.backstop.core;
    requires transitive software.amazon.awssdk.services.s3;
    requires transitive software.amazon.awssdk.services.kms;
    requires software.amazon.awssdk.core;
    requires software.amazon.awssdk.awscore;
    // S3Sink.Builder takes a Region and an AwsCredentialsProvider: callers need their modules
    requires transitive software.amazon.awssdk.regions;
    requires transitive software.amazon.awssdk.auth;
    requires org.slf4j;

    exports dev.backstop.s3;
}
