package dev.backstop.s3.internal;

import dev.backstop.core.IncompleteWrite;
import dev.backstop.core.ObjectInfo;
import dev.backstop.s3.PartChecksum;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The requests of an S3 sink that are not uploads: listing objects and incomplete multipart
 * uploads (every page), aborting one, and copying server-side. Failures are translated by {@link
 * S3Errors}.
 */
public final class S3Listings {
    /** The largest object S3 copies in one CopyObject call. */
    private static final long MAX_COPY = 5L << 30;

    private S3Listings() {
    }

    /** The objects under {@code prefix + keyPrefix}, keys without {@code prefix}, sorted by key. */
    public static List<ObjectInfo> objects(S3AsyncClient client, String bucket, String prefix, String keyPrefix)
            throws IOException {
        List<ObjectInfo> out = new ArrayList<>();
        String token = null;
        do {
            String t = token;
            ListObjectsV2Response page;
            try {
                page = client.listObjectsV2(b -> b.bucket(bucket).prefix(prefix + keyPrefix).continuationToken(t)).join();
            } catch (CompletionException e) {
                throw S3Errors.translate("LIST", bucket, prefix + keyPrefix, e);
            }
            for (S3Object o : page.contents()) {
                out.add(new ObjectInfo(o.key().substring(prefix.length()), o.size(), o.lastModified()));
            }
            token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
        } while (token != null);
        out.sort((a, b) -> a.key().compareTo(b.key()));
        return out;
    }

    /**
     * The multipart uploads under {@code prefix + keyPrefix} that were started and neither
     * completed nor aborted, by any writer, sorted by key: handle is the upload id, last activity
     * the initiation, size unknown (-1).
     */
    public static List<IncompleteWrite> incompleteWrites(S3AsyncClient client, String bucket, String prefix, String keyPrefix)
            throws IOException {
        List<IncompleteWrite> out = new ArrayList<>();
        String keyMarker = null;
        String uploadMarker = null;
        while (true) {
            String km = keyMarker;
            String um = uploadMarker;
            ListMultipartUploadsResponse page;
            try {
                page = client.listMultipartUploads(b -> b.bucket(bucket).prefix(prefix + keyPrefix).keyMarker(km)
                        .uploadIdMarker(um)).join();
            } catch (CompletionException e) {
                throw S3Errors.translate("ListMultipartUploads", bucket, prefix + keyPrefix, e);
            }
            for (MultipartUpload u : page.uploads()) {
                out.add(new IncompleteWrite(u.key().substring(prefix.length()), u.uploadId(), -1,
                        u.initiated() == null ? Instant.EPOCH : u.initiated()));
            }
            if (!Boolean.TRUE.equals(page.isTruncated())) {
                break;
            }
            keyMarker = page.nextKeyMarker();
            uploadMarker = page.nextUploadIdMarker();
        }
        out.sort((a, b) -> a.key().compareTo(b.key()));
        return out;
    }

    /** Aborts multipart upload {@code uploadId} of {@code key}; one already completed or aborted is not an error. */
    public static void discard(S3AsyncClient client, String bucket, String key, String uploadId) throws IOException {
        try {
            client.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId)).join();
        } catch (CompletionException e) {
            if (!"NoSuchUpload".equals(S3Errors.code(e)) && S3Errors.status(e) != 404) {
                throw S3Errors.translate("AbortMultipartUpload " + uploadId + " of", bucket, key, e);
            }
        }
    }

    /**
     * Copies {@code fromBucket/from} to {@code bucket/to} with CopyObject, written as {@code t}
     * says; returns false, copying nothing, when the object is larger than one CopyObject copies.
     */
    public static boolean copy(S3AsyncClient client, String fromBucket, String from, String bucket, String to, PutTemplate t)
            throws IOException {
        HeadObjectResponse head;
        try {
            head = client.headObject(b -> b.bucket(fromBucket).key(from)).join();
        } catch (CompletionException e) {
            throw S3Errors.translate("HEAD", fromBucket, from, e);
        }
        if (head.contentLength() > MAX_COPY) {
            return false;
        }
        try {
            client.copyObject(b -> {
                b.sourceBucket(fromBucket).sourceKey(from).destinationBucket(bucket).destinationKey(to)
                        .checksumAlgorithm(t.checksum() == PartChecksum.CRC32C ? ChecksumAlgorithm.CRC32_C : ChecksumAlgorithm.SHA256)
                        .storageClass(t.storageClass()).serverSideEncryption(t.sse()).ssekmsKeyId(t.kmsKeyId())
                        .objectLockMode(t.lockMode()).objectLockRetainUntilDate(t.retainUntil())
                        .objectLockLegalHoldStatus(t.legalHold());
                if (t.ifNoneMatch()) {
                    b.ifNoneMatch("*");
                }
            }).join();
            return true;
        } catch (CompletionException e) {
            throw S3Errors.translate("CopyObject from s3://" + fromBucket + "/" + from + " to", bucket, to, e);
        }
    }
}
