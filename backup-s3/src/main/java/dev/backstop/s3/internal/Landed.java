package dev.backstop.s3.internal;

import dev.backstop.s3.PartChecksum;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.ChecksumMode;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;

/**
 * Recognises a write of one key that landed although its answer was lost (a timed-out attempt,
 * or the SDK's own retry): the object under the key carries the checksum this upload computed.
 */
final class Landed {
    /** How long a complete that may still be running on the server is waited for. */
    private static final Duration COMPLETE_WAIT = Duration.ofMinutes(2);

    /** Waits before look {@code n}; the upload's own backoff. */
    interface Pause {
        void pause(int attempt) throws InterruptedIOException;
    }

    private final S3AsyncClient client;
    private final String bucket;
    private final String s3Key;
    private final boolean sha256;
    private final Pause pause;
    private final int maxAttempts;

    Landed(S3AsyncClient client, String bucket, String s3Key, PartChecksum checksum, Pause pause, int maxAttempts) {
        this.client = client;
        this.bucket = bucket;
        this.s3Key = s3Key;
        this.sha256 = checksum != PartChecksum.CRC32C;
        this.pause = pause;
        this.maxAttempts = maxAttempts;
    }

    /** Whether the object under the key carries checksum {@code sha} (false when it is null or unreadable). */
    boolean isOurs(String sha) {
        if (sha == null) {
            return false;
        }
        try {
            HeadObjectResponse head = client.headObject(b -> b.bucket(bucket).key(s3Key).checksumMode(ChecksumMode.ENABLED)).join();
            return sha.equals(sha256 ? head.checksumSHA256() : head.checksumCRC32C());
        } catch (CompletionException e) {
            return false;
        }
    }

    /**
     * After a repeated complete found the upload gone, an earlier attempt of ours may still be
     * assembling the object on the server (a big complete takes minutes on AWS and outlasted the
     * read timeout on a loaded S3Mock): looks for it with backoff, for at most {@link #COMPLETE_WAIT}.
     */
    boolean awaitOurs(String sha) throws InterruptedIOException {
        long deadline = System.nanoTime() + COMPLETE_WAIT.toNanos();
        for (int look = 1; ; look++) {
            if (isOurs(sha)) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            pause.pause(Math.min(look, maxAttempts));
        }
    }
}
