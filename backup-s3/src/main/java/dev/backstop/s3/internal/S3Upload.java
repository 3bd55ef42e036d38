package dev.backstop.s3.internal;

import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.Sink;
import dev.backstop.core.internal.concurrent.Backoff;
import dev.backstop.s3.PartChecksum;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * One object being written to S3, streamed in parts of a fixed size.
 *
 * <p>Bytes collect in a part buffer on the writer's thread. An object that fits one part is sent
 * with a single conditional PUT at commit. A larger one becomes a multipart upload: each full
 * buffer is handed to the executor, which sends it with its SHA-256 (S3 checks it and refuses
 * the part on mismatch) and retries that buffer, never the source, with jittered backoff. At most
 * {@code partsInFlight} parts are being sent at once and the writer blocks when all are busy, so
 * memory is at most {@code (partsInFlight + 1) × partSize} whatever the object's size.
 * CompleteMultipartUpload carries {@code If-None-Match: *} for immutable kinds, which is where
 * S3 decides who owns the key. Close without commit aborts the multipart upload, so S3 keeps no
 * parts.
 *
 * <p>One class past 400 lines because it is one state machine over one part buffer that the single
 * PUT and the multipart path share; checksums live in {@code PartHash}, request shapes in {@code
 * PartRequests}, and the recognition of a retried write that already landed in {@code Landed}.
 */
public final class S3Upload implements Sink.Upload {
    private static final Logger LOG = LoggerFactory.getLogger(S3Upload.class);
    private static final int MAX_PARTS = 10_000;
    private static final int FIRST_BUFFER = 64 * 1024;

    private final S3AsyncClient client;
    private final Executor executor;
    private final String bucket;
    private final String s3Key;
    private final String key;
    private final PutTemplate template;
    private final int partSize;
    private final RetryPolicy retry;
    private final Backoff backoff;
    private final Semaphore inFlight;
    private final ConcurrentLinkedQueue<byte[]> spare = new ConcurrentLinkedQueue<>();
    private final List<CompletableFuture<CompletedPart>> parts = new ArrayList<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final OutputStream stream = new PartStream();
    private final PartHash partHash;
    private final Landed landed;

    private byte[] buffer;
    private int filled;
    private String uploadId;
    private String versionId;
    private volatile boolean aborted;
    private boolean ended;
    private boolean committed;
    private boolean closed;

    public S3Upload(S3AsyncClient client, Executor executor, String bucket, String s3Key, String key,
                    PutTemplate template, int partSize, int partsInFlight, RetryPolicy retry) {
        this.client = client;
        this.executor = executor;
        this.bucket = bucket;
        this.s3Key = s3Key;
        this.key = key;
        this.template = template;
        this.partSize = partSize;
        this.retry = retry;
        this.backoff = retry.backoff();
        this.inFlight = new Semaphore(partsInFlight);
        this.partHash = PartHash.of(template.checksum());
        this.landed = new Landed(client, bucket, s3Key, template.checksum(), this::pause, retry.maxAttempts());
    }

    private boolean sha256() {
        return template.checksum() != PartChecksum.CRC32C;
    }

    @Override
    public OutputStream stream() {
        if (closed) {
            throw new IllegalStateException("upload of " + key + " is closed");
        }
        return stream;
    }

    /** How many parts were sent as a multipart upload; 0 for an object sent with one PUT. */
    public int partCount() {
        return parts.size();
    }

    @Override
    public void commit() throws IOException {
        if (closed || committed) {
            throw new IllegalStateException("upload of " + key + " is " + (committed ? "already committed" : "closed"));
        }
        ended = true;
        rethrowPartFailure();
        if (uploadId == null) {
            putWhole();
        } else {
            if (filled > 0) {
                shipPart();
            }
            List<CompletedPart> done = new ArrayList<>();
            for (CompletableFuture<CompletedPart> f : parts) {
                try {
                    done.add(f.join());
                } catch (CompletionException e) {
                    throw S3Errors.translate("upload of a part", bucket, s3Key, e);
                }
            }
            done.sort(Comparator.comparing(CompletedPart::partNumber));
            complete(done);
        }
        committed = true;
        if (template.lockMode() != null || template.legalHold() != null) {
            LockCheck.ensure(client, bucket, s3Key, key, versionId, template);
        }
        buffer = null;
    }

    private void putWhole() throws IOException {
        int len = filled;
        byte[] bytes = buffer == null ? new byte[0] : buffer;
        String sha = partHash.finish();
        PutObjectRequest request = PartRequests.put(template, bucket, s3Key, len, sha);
        for (int attempt = 1; ; attempt++) {
            try {
                versionId = client.putObject(request, AsyncRequestBody.fromRemainingByteBufferUnsafe(ByteBuffer.wrap(bytes, 0, len)))
                        .join().versionId();
                return;
            } catch (CompletionException e) {
                IOException io = S3Errors.translate("PUT", bucket, s3Key, e);
                if (io instanceof ObjectExistsException && landed.isOurs(sha)) {
                    // an earlier attempt (ours or the SDK's own retry) landed but its answer was
                    // lost: the object is ours
                    return;
                }
                if (!S3Errors.retryable(e) || attempt >= retry.maxAttempts()) {
                    throw io;
                }
                pause(attempt);
            }
        }
    }

    private void complete(List<CompletedPart> done) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                versionId = client.completeMultipartUpload(b -> {
                    b.bucket(bucket).key(s3Key).uploadId(uploadId).multipartUpload(m -> m.parts(done));
                    if (template.ifNoneMatch()) {
                        b.ifNoneMatch("*");
                    }
                }).join().versionId();
                return;
            } catch (CompletionException e) {
                // 409 ConditionalRequestConflict: a concurrent conditional write on the key; S3 asks to retry
                boolean conflict = S3Errors.status(e) == 409;
                if ((conflict || S3Errors.retryable(e)) && attempt < retry.maxAttempts()) {
                    pause(attempt);
                    continue;
                }
                IOException io = S3Errors.translate("CompleteMultipartUpload", bucket, s3Key, e);
                // after a complete that did succeed, the upload and its parts are gone: AWS answers a
                // repeat with NoSuchUpload, S3Mock 5.2 with InvalidPart (seen in CI), and with
                // If-None-Match the object itself is in the way
                String code = S3Errors.code(e);
                boolean maybeDone = io instanceof ObjectExistsException || "NoSuchUpload".equals(code) || "InvalidPart".equals(code);
                if (maybeDone && attemptsMade(e, attempt) && landed.awaitOurs(PartHash.composite(template.checksum(), done))) {
                    // a timed-out attempt (the SDK retries too) completed the upload after all;
                    // completing a multi-GiB upload on a loaded server can outlast the read timeout
                    return;
                }
                if (io instanceof ObjectExistsException) {
                    // lost the race for the key. Aborting would be right on AWS, but S3Mock 5.2
                    // deletes the winner's object on abort; the bucket's AbortIncompleteMultipartUpload
                    // rule removes these parts instead (see S3Lifecycle)
                    LOG.warn("s3://{}/{} is taken; leaving multipart upload {} to the lifecycle rule", bucket, s3Key, uploadId);
                    uploadId = null;
                } else {
                    abortQuietly();
                }
                throw io;
            }
        }
    }

    private void shipPart() throws IOException {
        if (uploadId == null) {
            uploadId = startMultipart();
        }
        int number = parts.size() + 1;
        if (number > MAX_PARTS) {
            throw new IOException("object " + key + " needs more than " + MAX_PARTS + " parts of " + partSize
                    + " bytes; raise the S3 sink's partSize");
        }
        try {
            inFlight.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("upload of " + key + " interrupted while waiting for a free part slot");
        }
        byte[] buf = buffer;
        int len = filled;
        String sha = partHash.finish();
        buffer = null;
        filled = 0;
        CompletableFuture<CompletedPart> f;
        try {
            f = CompletableFuture.supplyAsync(() -> sendPart(number, buf, len, sha), executor);
        } catch (RuntimeException e) {
            inFlight.release();
            throw new IOException("could not schedule part " + number + " of " + key + ": " + e, e);
        }
        parts.add(f.whenComplete((p, t) -> {
            if (buf.length == partSize) {
                spare.offer(buf);
            }
            inFlight.release();
            if (t != null) {
                failure.compareAndSet(null, t);
            }
        }));
    }

    private String startMultipart() throws IOException {
        CreateMultipartUploadRequest req = PartRequests.createMultipart(template, bucket, s3Key);
        for (int attempt = 1; ; attempt++) {
            try {
                return client.createMultipartUpload(req).join().uploadId();
            } catch (CompletionException e) {
                if (!S3Errors.retryable(e) || attempt >= retry.maxAttempts()) {
                    throw S3Errors.translate("CreateMultipartUpload", bucket, s3Key, e);
                }
                pause(attempt);
            }
        }
    }

    /**
     * Runs on the executor: sends one buffered part with the SHA-256 taken as its bytes were
     * buffered, retrying the same bytes. S3 refuses the part if its own digest differs (bytes
     * damaged on the way: {@code BadDigest}, retried like a dropped connection); the digest goes
     * into CompleteMultipartUpload, so S3 checks the assembly too.
     */
    private CompletedPart sendPart(int number, byte[] buf, int len, String sha) {
        for (int attempt = 1; ; attempt++) {
            if (aborted) {
                throw new CompletionException(new IOException("upload of " + key + " was aborted"));
            }
            try {
                UploadPartResponse r = client.uploadPart(b -> {
                    b.bucket(bucket).key(s3Key).uploadId(uploadId).partNumber(number).contentLength((long) len);
                    if (sha256()) {
                        b.checksumSHA256(sha);
                    } else {
                        b.checksumCRC32C(sha);
                    }
                }, PartRequests.body(buf, len)).join();
                CompletedPart.Builder p = CompletedPart.builder().partNumber(number).eTag(r.eTag());
                return (sha256() ? p.checksumSHA256(sha) : p.checksumCRC32C(sha)).build();
            } catch (CompletionException e) {
                if (!S3Errors.retryable(e) || attempt >= retry.maxAttempts() || aborted) {
                    throw new CompletionException(S3Errors.translate("upload of part " + number + " (attempt " + attempt + ")",
                            bucket, s3Key, e));
                }
                LOG.debug("part {} of s3://{}/{} failed (attempt {}), retrying: {}", number, bucket, s3Key, attempt, e.getCause());
                try {
                    pause(attempt);
                } catch (InterruptedIOException ie) {
                    throw new CompletionException(ie);
                }
            }
        }
    }

    private void pause(int attempt) throws InterruptedIOException {
        try {
            backoff.pause(attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("retry of " + key + " interrupted");
        }
    }

    private void rethrowPartFailure() throws IOException {
        Throwable t = failure.get();
        if (t != null) {
            throw S3Errors.translate("upload of a part", bucket, s3Key, t);
        }
    }

    /** Whether this request was sent more than once, by us or by the SDK's own retries. */
    private static boolean attemptsMade(Throwable e, int attempt) {
        return attempt > 1 || S3Errors.unwrap(e).getSuppressed().length > 0;
    }

    private void write(byte[] b, int off, int len) throws IOException {
        if (closed || ended) {
            throw new IOException("upload of " + key + " is " + (closed ? "closed" : "ended") + "; no more bytes accepted");
        }
        rethrowPartFailure();
        while (len > 0) {
            if (filled == partSize) {
                shipPart();
            }
            ensureRoom(len);
            int n = Math.min(len, buffer.length - filled);
            System.arraycopy(b, off, buffer, filled, n);
            // hashed here, on the writer's thread, while earlier parts are on the wire: the SDK
            // then sends the digest as a header instead of hashing on its I/O thread, and the
            // request needs no chunked trailer
            partHash.update(b, off, n);
            filled += n;
            off += n;
            len -= n;
        }
    }

    /** Small objects (manifests, keys) never allocate a whole part: the first buffer grows. */
    private void ensureRoom(int wanted) {
        if (buffer == null) {
            byte[] reuse = spare.poll();
            buffer = reuse != null ? reuse
                    : new byte[uploadId == null ? Math.min(partSize, Math.max(FIRST_BUFFER, wanted)) : partSize];
        } else if (filled == buffer.length && buffer.length < partSize) {
            byte[] bigger = new byte[(int) Math.min(partSize, Math.max(2L * buffer.length, (long) filled + wanted))];
            System.arraycopy(buffer, 0, bigger, 0, filled);
            buffer = bigger;
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        buffer = null;
        if (!committed) {
            aborted = true;
            for (CompletableFuture<CompletedPart> f : parts) {
                try {
                    f.join();
                } catch (RuntimeException ignored) {
                    // the upload is being thrown away; its parts' fate does not matter
                }
            }
            abortQuietly();
        }
        spare.clear();
    }

    private void abortQuietly() {
        if (uploadId == null) {
            return;
        }
        String id = uploadId;
        uploadId = null;
        try {
            client.abortMultipartUpload(b -> b.bucket(bucket).key(s3Key).uploadId(id)).join();
        } catch (RuntimeException e) {
            // the bucket's AbortIncompleteMultipartUpload lifecycle rule removes what is left
            LOG.warn("could not abort multipart upload of s3://{}/{}: {}", bucket, s3Key, S3Errors.unwrap(e).toString());
        }
    }

    private final class PartStream extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            S3Upload.this.write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            S3Upload.this.write(b, off, len);
        }

        @Override
        public void close() {
            ended = true;
        }
    }
}
