package dev.backstop.s3;

import dev.backstop.core.DataSize;
import dev.backstop.core.IncompleteWrite;
import dev.backstop.core.IncompleteWrites;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.ObjectLockedException;
import dev.backstop.core.replication.ServerSideCopy;
import dev.backstop.core.Sink;
import dev.backstop.core.StorageTier;
import dev.backstop.core.internal.builder.Settings;
import dev.backstop.core.internal.concurrent.DaemonThreads;
import dev.backstop.s3.internal.PutTemplate;
import dev.backstop.s3.internal.RetryPolicy;
import dev.backstop.s3.internal.S3Errors;
import dev.backstop.s3.internal.S3Listings;
import dev.backstop.s3.internal.S3Upload;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.ObjectLockLegalHoldStatus;
import software.amazon.awssdk.services.s3.model.ObjectLockMode;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.StorageClass;

/**
 * A {@link Sink} in an S3 bucket (AWS, or MinIO, Ceph, GCS interoperability through an endpoint
 * override and path-style addressing), with the same layout as the filesystem repository under
 * an optional key prefix. {@code Repository.on(s3Sink)} gives the catalog.
 *
 * <pre>{@code
 * try (S3Sink sink = S3Sink.builder().client(s3).bucket("backups").prefix("prod/orders")
 *         .encryption(S3Encryption.kms("alias/backups"))
 *         .objectLock(ObjectLock.retain(ObjectLock.Mode.COMPLIANCE, Duration.ofDays(35)))
 *         .build()) {
 *     Repository repo = Repository.on(sink);
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Guarantees.</b> Uploads of unknown length stream in parts of {@link Builder#partSize}
 * with at most {@link Builder#partsInFlight} parts in flight: memory per upload is at most
 * {@code (partsInFlight + 1) × partSize}, independent of the object's size. Every part and every
 * single PUT carries its SHA-256, which S3 checks. A failed part is resent from its buffer with
 * jittered exponential backoff; the source is never read twice. Nothing is visible before {@code
 * commit()}; closing an upload without commit aborts its multipart upload. Immutable kinds are
 * published with {@code If-None-Match: *}, so an existing backup object is never overwritten
 * ({@link dev.backstop.core.ObjectExistsException}). A missing object is {@link
 * java.nio.file.NoSuchFileException}; a delete refused by Object Lock is {@link
 * ObjectLockedException}.
 *
 * <p><b>Restrictions.</b> Conditional writes need S3 (since 2024-08) or a server that implements
 * {@code If-None-Match} on PutObject and CompleteMultipartUpload. Object Lock needs a bucket with
 * Object Lock enabled; see {@link ObjectLock}.
 *
 * <p><b>Crash debris.</b> A process killed mid-upload leaves an incomplete multipart upload,
 * invisible to listings but billed. {@link #incompleteWrites} lists those under the prefix (for
 * {@code Repository.orphans}, which needs no lifecycle rule) and {@link #discard} aborts one;
 * {@link S3Lifecycle}'s abort rule is a second line for buckets that apply it.
 *
 * <p><b>Threading.</b> Safe for concurrent use; each upload by one thread at a time. A client
 * passed to {@link Builder#client} is never closed; {@link #close()} closes only what the sink
 * created (its own client and part-upload threads).
 *
 * <p>Past 400 lines because of its builder: each validated setting is public API and stays beside
 * the sink, while the requests live in {@code internal.S3Upload} and {@code internal.S3Listings}.
 */
public final class S3Sink implements Sink, ServerSideCopy, IncompleteWrites, AutoCloseable {
    private final S3AsyncClient client;
    private final boolean ownsClient;
    private final ExecutorService ownedExecutor;
    private final Executor executor;
    private final String bucket;
    private final String prefix;
    private final int partSize;
    private final int partsInFlight;
    private final RetryPolicy retry;
    private final S3Encryption encryption;
    private final Map<ObjectKind, StorageClass> storageClasses;
    private final ObjectLock objectLock;
    private final PartChecksum partChecksum;
    private final Clock clock;

    private S3Sink(Builder b) {
        this.bucket = b.bucket;
        this.prefix = b.prefix;
        this.partSize = b.partSize.toIntBytes();
        this.partsInFlight = b.partsInFlight;
        this.retry = new RetryPolicy(b.retryAttempts, b.retryFirst, b.retryMax);
        this.encryption = b.encryption;
        this.storageClasses = new EnumMap<>(b.storageClasses);
        this.objectLock = b.objectLock;
        this.partChecksum = b.partChecksum;
        this.clock = b.clock;
        this.ownsClient = b.client == null;
        this.client = ownsClient ? b.newClient() : b.client;
        if (b.executor == null) {
            this.ownedExecutor = Executors.newCachedThreadPool(DaemonThreads.numbered("backstop-s3-part"));
            this.executor = ownedExecutor;
        } else {
            this.ownedExecutor = null;
            this.executor = b.executor;
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public String bucket() {
        return bucket;
    }

    /** The key prefix, empty or ending with {@code /}. */
    public String prefix() {
        return prefix;
    }

    /** The S3 key an object key maps to. */
    public String s3Key(String key) {
        return prefix + checkKey(key);
    }

    /** The storage class the sink requests for a kind, or null for the bucket's default (STANDARD). */
    public StorageClass storageClass(ObjectKind kind) {
        return storageClasses.get(kind);
    }

    /** The S3 storage class Backstop uses for a tier. */
    public static StorageClass storageClassFor(StorageTier tier) {
        return switch (tier) {
            case HOT -> StorageClass.STANDARD;
            case WARM -> StorageClass.STANDARD_IA;
            case COLD -> StorageClass.GLACIER_IR;
            case ARCHIVE -> StorageClass.DEEP_ARCHIVE;
        };
    }

    @Override
    public Upload create(String key, ObjectKind kind) {
        return new S3Upload(client, executor, bucket, s3Key(key), key, template(kind), partSize, partsInFlight, retry);
    }

    private PutTemplate template(ObjectKind kind) {
        ServerSideEncryption sse = switch (encryption.kind()) {
            case BUCKET_DEFAULT -> null;
            case S3_MANAGED -> ServerSideEncryption.AES256;
            case KMS -> ServerSideEncryption.AWS_KMS;
        };
        ObjectLockMode mode = null;
        Instant until = null;
        ObjectLockLegalHoldStatus hold = null;
        if (objectLock != null && ObjectLock.PROTECTED.contains(kind)) {
            if (objectLock.mode() != null) {
                mode = ObjectLockMode.fromValue(objectLock.mode().name());
                until = clock.instant().plus(objectLock.retainFor());
            }
            hold = objectLock.legalHold() ? ObjectLockLegalHoldStatus.ON : null;
        }
        return new PutTemplate(storageClasses.get(kind), sse, encryption.kmsKeyId(), mode, until, hold, !kind.replaceable(),
                partChecksum);
    }

    @Override
    public InputStream open(String key) throws IOException {
        String k = s3Key(key);
        try {
            return client.getObject(b -> b.bucket(bucket).key(k), AsyncResponseTransformer.toBlockingInputStream()).join();
        } catch (CompletionException e) {
            throw S3Errors.translate("GET", bucket, k, e);
        }
    }

    @Override
    public List<ObjectInfo> list(String keyPrefix) throws IOException {
        return S3Listings.objects(client, bucket, prefix, keyPrefix);
    }

    /**
     * Deletes every version of the object, so that nothing of it remains in a versioned (Object
     * Lock) bucket either. A version S3 refuses to delete because of retention or a legal hold
     * raises {@link ObjectLockedException}.
     */
    @Override
    public void delete(String key) throws IOException {
        S3Deletion.deleteAllVersions(client, bucket, s3Key(key), key);
    }

    /**
     * The multipart uploads under the prefix that were started and neither completed nor aborted,
     * by any writer: ListMultipartUploads, every page. The handle is the upload id; the last
     * activity is when the upload was initiated (S3 keeps no later time), and the size is unknown
     * (-1) without listing parts.
     */
    @Override
    public List<IncompleteWrite> incompleteWrites(String keyPrefix) throws IOException {
        return S3Listings.incompleteWrites(client, bucket, prefix, keyPrefix);
    }

    /** Aborts the multipart upload; one already completed or aborted is not an error. */
    @Override
    public void discard(IncompleteWrite write) throws IOException {
        S3Listings.discard(client, bucket, prefix + write.key(), write.handle());
    }

    /**
     * Copies server-side with CopyObject when {@code source} is an S3 sink on the same client
     * (pass one client with cross-region access to both sinks to copy across regions) and the
     * object is at most 5 GiB; otherwise returns false and the caller streams.
     */
    @Override
    public boolean copyFrom(Sink source, String key, ObjectKind kind) throws IOException {
        if (!(source instanceof S3Sink src) || src.client != client) {
            return false;
        }
        return S3Listings.copy(client, src.bucket, src.s3Key(key), bucket, s3Key(key), template(kind));
    }

    /** The client this sink uses (the caller's, or its own). */
    public S3AsyncClient client() {
        return client;
    }

    static String checkKey(String key) {
        if (key.isEmpty() || key.startsWith("/") || key.endsWith("/") || key.contains("//")
                || ("/" + key + "/").contains("/./") || ("/" + key + "/").contains("/../")) {
            throw new IllegalArgumentException("object key: got '" + key
                    + "', expected relative '/'-separated segments without '.', '..' or empty ones");
        }
        return key;
    }

    /** Closes the client and threads this sink created; never a client it was given. */
    @Override
    public void close() {
        if (ownsClient) {
            client.close();
        }
        if (ownedExecutor != null) {
            ownedExecutor.shutdown();
        }
    }

    @Override
    public String toString() {
        return "S3Sink[s3://" + bucket + "/" + prefix + ", part " + DataSize.ofBytes(partSize) + " x" + partsInFlight + " " + partChecksum
                + ", " + encryption + (objectLock == null ? "" : ", " + objectLock) + "]";
    }

    /**
     * Builds an {@link S3Sink}. Give either {@link #client} (yours, never closed by the sink) or
     * {@link #region} with optional {@link #endpoint}, {@link #pathStyle} and {@link #credentials}
     * (the sink then builds and owns its client). Each setter may be called once.
     */
    public static final class Builder {
        private final Settings given = new Settings();
        private S3AsyncClient client;
        private Region region;
        private URI endpoint;
        private Boolean pathStyle;
        private AwsCredentialsProvider credentials;
        private String bucket;
        private String prefix = "";
        private DataSize partSize = DataSize.ofMiB(64);
        private int partsInFlight = 2;
        private int retryAttempts = 5;
        private Duration retryFirst = Duration.ofMillis(200);
        private Duration retryMax = Duration.ofSeconds(20);
        private S3Encryption encryption = S3Encryption.bucketDefault();
        private final Map<ObjectKind, StorageClass> storageClasses = new EnumMap<>(ObjectKind.class);
        private ObjectLock objectLock;
        private PartChecksum partChecksum = PartChecksum.SHA256;
        private Clock clock = Clock.systemUTC();
        private Executor executor;

        private Builder() {
        }

        /** The client to use; the sink never closes it. Excludes region/endpoint/pathStyle/credentials. */
        public Builder client(S3AsyncClient client) {
            this.client = given.once("client", this.client, client);
            return this;
        }

        public Builder region(Region region) {
            this.region = given.once("region", this.region, region);
            return this;
        }

        /** An endpoint override for S3-compatible services (MinIO, Ceph RGW, GCS XML API). */
        public Builder endpoint(URI endpoint) {
            this.endpoint = given.once("endpoint", this.endpoint, endpoint);
            return this;
        }

        /** Path-style addressing ({@code endpoint/bucket/key}), which most S3-compatible services need. */
        public Builder pathStyle(boolean pathStyle) {
            given.onceNullable("pathStyle", this.pathStyle, pathStyle);
            this.pathStyle = pathStyle;
            return this;
        }

        public Builder credentials(AwsCredentialsProvider credentials) {
            // a provider may print its key id: the message names the setting only
            given.once("credentials");
            this.credentials = Objects.requireNonNull(credentials, "credentials");
            return this;
        }

        public Builder bucket(String bucket) {
            Objects.requireNonNull(bucket, "bucket");
            if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
                throw new IllegalArgumentException("bucket: got '" + bucket
                        + "', expected 3-63 characters of lower-case letters, digits, '.' and '-'");
            }
            given.onceNullable("bucket", this.bucket, bucket);
            this.bucket = bucket;
            return this;
        }

        /** A key prefix under which the repository lives, e.g. {@code prod/orders}. */
        public Builder prefix(String prefix) {
            String p = Objects.requireNonNull(prefix, "prefix");
            while (p.endsWith("/")) {
                p = p.substring(0, p.length() - 1);
            }
            String checked = p.isEmpty() ? "" : checkKey(p) + "/";
            this.prefix = given.once("prefix", this.prefix, checked);
            return this;
        }

        /** Size of each buffered multipart part, 5 MiB to 2047 MiB; default 64 MiB. An object may have up to 10,000 parts. */
        public Builder partSize(DataSize size) {
            if (size.compareTo(DataSize.ofMiB(5)) < 0 || size.compareTo(DataSize.ofMiB(2047)) > 0) {
                throw new IllegalArgumentException("partSize: got " + size + ", S3 needs 5 MiB to 2047 MiB per buffered part");
            }
            given.onceNullable("partSize", this.partSize, size);
            this.partSize = size;
            return this;
        }

        /** Parts sent concurrently per upload, 1 to 64; default 2. Memory is (this + 1) x partSize per upload. */
        public Builder partsInFlight(int n) {
            if (n < 1 || n > 64) {
                throw new IllegalArgumentException("partsInFlight: got " + n + ", must be 1..64");
            }
            given.onceNullable("partsInFlight", this.partsInFlight, n);
            this.partsInFlight = n;
            return this;
        }

        /** Attempts per part (and per single PUT) and the backoff bounds; default 5, 200 ms, 20 s. */
        public Builder partRetries(int maxAttempts, Duration firstDelay, Duration maxDelay) {
            new RetryPolicy(maxAttempts, firstDelay, maxDelay);
            given.once("partRetries", retryAttempts + " attempts, " + retryFirst + ".." + retryMax,
                    maxAttempts + " attempts, " + firstDelay + ".." + maxDelay);
            this.retryAttempts = maxAttempts;
            this.retryFirst = firstDelay;
            this.retryMax = maxDelay;
            return this;
        }

        public Builder encryption(S3Encryption encryption) {
            this.encryption = given.once("encryption", this.encryption, encryption);
            return this;
        }

        /** The storage class for objects of one kind; default is the bucket's (STANDARD). */
        public Builder storageClass(ObjectKind kind, StorageClass storageClass) {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(storageClass, "storageClass");
            if (storageClass == StorageClass.UNKNOWN_TO_SDK_VERSION) {
                throw new IllegalArgumentException("storageClass for " + kind + ": UNKNOWN_TO_SDK_VERSION is not a storage class");
            }
            given.once("storageClass for " + kind, storageClasses.get(kind), storageClass);
            storageClasses.put(kind, storageClass);
            return this;
        }

        /**
         * Writes backup data and logs straight into {@code tier}'s class; manifests, keys,
         * validation records and leases stay STANDARD because they are small and read often.
         */
        public Builder tier(StorageTier tier) {
            storageClass(ObjectKind.DATA, storageClassFor(tier));
            return storageClass(ObjectKind.LOG, storageClassFor(tier));
        }

        /** The checksum S3 checks on every part and single PUT; default {@link PartChecksum#SHA256}. */
        public Builder partChecksum(PartChecksum checksum) {
            this.partChecksum = given.once("partChecksum", this.partChecksum, checksum);
            return this;
        }

        public Builder objectLock(ObjectLock lock) {
            this.objectLock = given.once("objectLock", this.objectLock, lock);
            return this;
        }

        /** The clock retain-until dates are computed from. */
        public Builder clock(Clock clock) {
            this.clock = given.once("clock", this.clock, clock);
            return this;
        }

        /** Threads that send parts (never shut down by the sink); default: the sink's own daemon threads. */
        public Builder executor(Executor executor) {
            this.executor = given.once("executor", this.executor, executor);
            return this;
        }

        public S3Sink build() {
            if (bucket == null) {
                throw new IllegalStateException("S3 sink: bucket is required");
            }
            if (client != null && (region != null || endpoint != null || pathStyle != null || credentials != null)) {
                throw new IllegalStateException("S3 sink: give either client(...) or region/endpoint/pathStyle/credentials, not both;"
                        + " a client you pass is used as configured");
            }
            if (client == null && region == null) {
                throw new IllegalStateException("S3 sink: client(...) or region(...) is required");
            }
            return new S3Sink(this);
        }

        private S3AsyncClient newClient() {
            S3AsyncClientBuilder b = S3AsyncClient.builder().region(region);
            if (endpoint != null) {
                b.endpointOverride(endpoint);
            }
            if (pathStyle != null) {
                b.forcePathStyle(pathStyle);
            }
            if (credentials != null) {
                b.credentialsProvider(credentials);
            }
            return b.build();
        }
    }
}
