package dev.backstop.s3;

import dev.backstop.core.ObjectLockedException;
import dev.backstop.s3.internal.S3Errors;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.DeleteMarkerEntry;
import software.amazon.awssdk.services.s3.model.ListObjectVersionsResponse;
import software.amazon.awssdk.services.s3.model.ObjectLockLegalHoldStatus;
import software.amazon.awssdk.services.s3.model.ObjectVersion;

/**
 * Deleting an object for good. In a versioned bucket (every Object Lock bucket is one) a plain
 * DELETE only adds a delete marker and the bytes stay, so retention would free nothing and a
 * crypto-erased key would survive. We delete each version by id; S3 refuses versions under
 * retention or legal hold with 403, which we report as {@link ObjectLockedException}.
 */
final class S3Deletion {
    private S3Deletion() {
    }

    static void deleteAllVersions(S3AsyncClient client, String bucket, String s3Key, String key) throws IOException {
        List<String> versions = versionsOf(client, bucket, s3Key);
        if (versions.isEmpty()) {
            try {
                client.deleteObject(b -> b.bucket(bucket).key(s3Key)).join();
            } catch (CompletionException e) {
                throw S3Errors.translate("DELETE", bucket, s3Key, e);
            }
            return;
        }
        for (String v : versions) {
            try {
                client.deleteObject(b -> b.bucket(bucket).key(s3Key).versionId(v)).join();
            } catch (CompletionException e) {
                if (S3Errors.status(e) == 404) {
                    continue;
                }
                if (S3Errors.status(e) == 403) {
                    ObjectLockedException locked = lockOf(client, bucket, s3Key, key, v, e);
                    if (locked != null) {
                        throw locked;
                    }
                }
                throw S3Errors.translate("DELETE (version " + v + ")", bucket, s3Key, e);
            }
        }
    }

    private static List<String> versionsOf(S3AsyncClient client, String bucket, String s3Key) throws IOException {
        List<String> out = new ArrayList<>();
        String keyMarker = null;
        String versionMarker = null;
        while (true) {
            String km = keyMarker;
            String vm = versionMarker;
            ListObjectVersionsResponse page;
            try {
                page = client.listObjectVersions(b -> b.bucket(bucket).prefix(s3Key).keyMarker(km).versionIdMarker(vm)).join();
            } catch (CompletionException e) {
                throw S3Errors.translate("ListObjectVersions", bucket, s3Key, e);
            }
            for (ObjectVersion v : page.versions()) {
                if (v.key().equals(s3Key) && v.versionId() != null) {
                    out.add(v.versionId());
                }
            }
            for (DeleteMarkerEntry m : page.deleteMarkers()) {
                if (m.key().equals(s3Key) && m.versionId() != null) {
                    out.add(m.versionId());
                }
            }
            if (!Boolean.TRUE.equals(page.isTruncated())) {
                return out;
            }
            keyMarker = page.nextKeyMarker();
            versionMarker = page.nextVersionIdMarker();
        }
    }

    /** The lock that explains a refused delete, or null when the version carries none. */
    static ObjectLockedException lockOf(S3AsyncClient client, String bucket, String s3Key, String key, String version,
                                        Throwable refusal) {
        Instant until = null;
        boolean locked = false;
        try {
            var r = client.getObjectRetention(b -> b.bucket(bucket).key(s3Key).versionId(version)).join().retention();
            if (r != null && r.retainUntilDate() != null && r.retainUntilDate().isAfter(Instant.now())) {
                until = r.retainUntilDate();
                locked = true;
            }
        } catch (CompletionException noRetention) {
            // no retention configured on this version
        }
        try {
            var h = client.getObjectLegalHold(b -> b.bucket(bucket).key(s3Key).versionId(version)).join().legalHold();
            if (h != null && h.status() == ObjectLockLegalHoldStatus.ON) {
                until = null;
                locked = true;
            }
        } catch (CompletionException noHold) {
            // no legal hold on this version
        }
        return locked ? new ObjectLockedException(key, until, S3Errors.unwrap(refusal)) : null;
    }
}
