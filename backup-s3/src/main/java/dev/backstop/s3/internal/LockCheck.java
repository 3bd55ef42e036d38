package dev.backstop.s3.internal;

import java.io.IOException;
import java.time.Instant;
import java.util.concurrent.CompletionException;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ObjectLockLegalHoldStatus;
import software.amazon.awssdk.services.s3.model.ObjectLockRetention;

/**
 * Makes sure a published object carries the Object Lock it was written with. S3 applies the
 * lock headers atomically with the PUT, and then one HEAD confirms it. Some S3-compatible
 * servers (S3Mock among them) silently drop those headers; an object believed immutable would
 * then be deletable, so we set retention and legal hold with their own calls and fail the commit
 * if that does not work either.
 */
final class LockCheck {
    private LockCheck() {
    }

    static void ensure(S3AsyncClient client, String bucket, String s3Key, String key, String versionId, PutTemplate t)
            throws IOException {
        try {
            HeadObjectResponse head = client.headObject(b -> b.bucket(bucket).key(s3Key).versionId(versionId)).join();
            boolean retained = t.lockMode() == null || (t.lockMode().equals(head.objectLockMode())
                    && !before(head.objectLockRetainUntilDate(), t.retainUntil()));
            boolean held = t.legalHold() == null || t.legalHold().equals(head.objectLockLegalHoldStatus());
            if (!retained) {
                ObjectLockRetention current = currentRetention(client, bucket, s3Key, versionId);
                if (current == null || !t.lockMode().toString().equals(current.modeAsString()) || before(current.retainUntilDate(), t.retainUntil())) {
                    client.putObjectRetention(b -> b.bucket(bucket).key(s3Key).versionId(versionId)
                            .retention(r -> r.mode(t.lockMode().toString()).retainUntilDate(t.retainUntil()))).join();
                }
            }
            if (!held) {
                client.putObjectLegalHold(b -> b.bucket(bucket).key(s3Key).versionId(versionId)
                        .legalHold(h -> h.status(ObjectLockLegalHoldStatus.ON))).join();
            }
        } catch (CompletionException e) {
            throw new IOException("object " + key + " was published but its Object Lock (" + t.lockMode() + " until "
                    + t.retainUntil() + ", legal hold " + t.legalHold() + ") could not be confirmed or set; is Object Lock"
                    + " enabled on bucket " + bucket + "? " + S3Errors.translate("Object Lock", bucket, s3Key, e).getMessage(), e);
        }
    }

    private static boolean before(Instant actual, Instant wanted) {
        return actual == null || (wanted != null && actual.plusSeconds(1).isBefore(wanted));
    }

    private static ObjectLockRetention currentRetention(S3AsyncClient client, String bucket, String s3Key, String versionId) {
        try {
            return client.getObjectRetention(b -> b.bucket(bucket).key(s3Key).versionId(versionId)).join().retention();
        } catch (CompletionException none) {
            return null;
        }
    }
}
