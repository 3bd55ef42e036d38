package dev.backstop.s3.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.ObjectExistsException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** How S3's answers become the Sink contract's exceptions. */
class S3ErrorsTest {
    private static CompletionException s3(int status, String code) {
        return new CompletionException(S3Exception.builder().statusCode(status)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage("m").build()).build());
    }

    @Test
    void preconditionFailed_isObjectExists() {
        assertThat(S3Errors.translate("PUT", "b", "k", s3(412, "PreconditionFailed"))).isInstanceOf(ObjectExistsException.class);
    }

    @Test
    void noSuchKey_isNoSuchFile_namingTheKey() {
        IOException e = S3Errors.translate("GET", "b", "repo/k", s3(404, "NoSuchKey"));
        assertThat(e).isInstanceOf(NoSuchFileException.class).hasMessageContaining("repo/k");
    }

    @Test
    void noSuchBucket_namesTheBucket_andIsNotAMissingObject() {
        IOException e = S3Errors.translate("GET", "gone", "k", s3(404, "NoSuchBucket"));
        assertThat(e).isNotInstanceOf(NoSuchFileException.class).hasMessageContaining("bucket 'gone' does not exist");
    }

    @Test
    void throttlingServerErrorsAndBrokenConnections_areRetryable_butAccessDeniedIsNot() {
        assertThat(S3Errors.retryable(s3(500, "InternalError"))).isTrue();
        assertThat(S3Errors.retryable(s3(503, "SlowDown"))).isTrue();
        assertThat(S3Errors.retryable(new CompletionException(SdkClientException.create("reset")))).isTrue();
        assertThat(S3Errors.retryable(s3(403, "AccessDenied"))).isFalse();
        assertThat(S3Errors.retryable(s3(412, "PreconditionFailed"))).isFalse();
    }
}
