package dev.backstop.s3.internal;

import dev.backstop.core.ObjectExistsException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Turns SDK failures into the {@link IOException}s the {@link dev.backstop.core.Sink} contract
 * speaks, each naming the bucket, the object and what S3 said.
 */
public final class S3Errors {
    private S3Errors() {
    }

    /** The SDK exception inside completion wrappers, or the throwable itself. */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** The S3 error code, or null when the failure did not come from the service. */
    public static String code(Throwable t) {
        Throwable u = unwrap(t);
        if (u instanceof AwsServiceException e && e.awsErrorDetails() != null) {
            return e.awsErrorDetails().errorCode();
        }
        return null;
    }

    public static int status(Throwable t) {
        return unwrap(t) instanceof AwsServiceException e ? e.statusCode() : -1;
    }

    /** Whether sending the same request again may succeed: throttling, 5xx, broken connections. */
    public static boolean retryable(Throwable t) {
        Throwable u = unwrap(t);
        if (u instanceof AwsServiceException e) {
            int s = e.statusCode();
            return s >= 500 || s == 429 || e.isThrottlingException() || "RequestTimeout".equals(code(e)) || badDigest(e);
        }
        return u instanceof SdkClientException || u instanceof IOException;
    }

    /**
     * Whether the server refused a body that did not match the digest sent with it: bytes damaged
     * on the way, so sending the same buffer again is right. S3 says {@code BadDigest}; S3Mock and
     * some S3-compatible servers answer a plain 400 that names the checksum header.
     */
    static boolean badDigest(AwsServiceException e) {
        if ("BadDigest".equals(code(e)) || "XAmzContentSHA256Mismatch".equals(code(e))) {
            return true;
        }
        String message = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorMessage();
        return e.statusCode() == 400 && message != null && message.toLowerCase(java.util.Locale.ROOT).contains("x-amz-checksum-");
    }

    /**
     * The failure of {@code operation} on {@code key} in {@code bucket} as an {@link IOException}:
     * a missing object becomes {@link NoSuchFileException}, a refused conditional write
     * {@link ObjectExistsException}, missing buckets and rejected credentials say so.
     */
    public static IOException translate(String operation, String bucket, String key, Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            InterruptedIOException e = new InterruptedIOException(operation + " of s3://" + bucket + "/" + key + " interrupted");
            e.initCause(t);
            return e;
        }
        if (t instanceof IOException io && !(t.getCause() instanceof SdkException)) {
            return io;
        }
        String code = code(t);
        int status = status(t);
        String where = "s3://" + bucket + "/" + (key == null ? "" : key);
        if ("NoSuchBucket".equals(code)) {
            return new IOException("bucket '" + bucket + "' does not exist (or is in another region/endpoint); "
                    + operation + " of " + where + " failed: " + describe(t), t);
        }
        if ("NoSuchKey".equals(code) || (status == 404 && code == null) || (status == 404 && "NotFound".equals(code))) {
            NoSuchFileException e = new NoSuchFileException(key, null, "no object under this key in s3://" + bucket);
            e.initCause(t);
            return e;
        }
        if (status == 412 || "PreconditionFailed".equals(code)) {
            ObjectExistsException e = new ObjectExistsException(key);
            e.initCause(t);
            return e;
        }
        if ("InvalidAccessKeyId".equals(code) || "SignatureDoesNotMatch".equals(code) || "ExpiredToken".equals(code)
                || "InvalidToken".equals(code)) {
            return denied("S3 rejected the credentials (" + code + ") for " + operation + " of " + where
                    + ": check the access key id and secret the client uses", t);
        }
        if (status == 403) {
            return denied("S3 denied " + operation + " of " + where + " (" + code
                    + "): the credentials lack permission for it", t);
        }
        return new IOException(operation + " of " + where + " failed: " + describe(t), t);
    }

    /**
     * A refusal that retrying does not fix, as the type the file system uses for it, so that
     * {@code StorageException.Reason} reads it as access denied.
     */
    private static IOException denied(String message, Throwable cause) {
        AccessDeniedException e = new AccessDeniedException(null, null, message);
        e.initCause(cause);
        return e;
    }

    private static String describe(Throwable t) {
        if (t instanceof AwsServiceException e) {
            return "HTTP " + e.statusCode() + " " + code(e) + " (request id " + e.requestId() + ")";
        }
        return String.valueOf(t);
    }
}
