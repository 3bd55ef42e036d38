package dev.backstop.testkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.DataSize;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import dev.backstop.s3.PartChecksum;
import dev.backstop.s3.S3Sink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * The S3 sink under server errors, dropped connections, wrong credentials, a missing bucket and
 * racing writers. The SDK's own retries are off, so every retry seen is the sink's, per part.
 */
class S3SinkFaultTest {
    private static final int PART = 5 * 1024 * 1024;
    private final LocalS3 s3 = LocalS3.shared();
    private final S3Front front = S3Front.of(s3.endpoint());
    private final S3AsyncClient client = s3.clientBuilder().endpointOverride(front.endpoint())
            .overrideConfiguration(o -> o.retryStrategy(r -> r.maxAttempts(1))).build();

    @AfterEach
    void tearDown() {
        client.close();
        front.close();
    }

    private S3Sink sink(String bucket) {
        return sink(bucket, PartChecksum.SHA256);
    }

    private S3Sink sink(String bucket, PartChecksum checksum) {
        return S3Sink.builder().client(client).bucket(bucket).partSize(DataSize.ofMiB(5)).partsInFlight(2)
                .partChecksum(checksum).partRetries(3, Duration.ofMillis(10), Duration.ofMillis(50)).build();
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void put(Sink sink, String key, ObjectKind kind, byte[] data) throws IOException {
        try (Sink.Upload up = sink.create(key, kind)) {
            try (OutputStream out = up.stream()) {
                out.write(data);
            }
            up.commit();
        }
    }

    private static byte[] read(Sink sink, String key) throws IOException {
        try (InputStream in = sink.open(key)) {
            return in.readAllBytes();
        }
    }

    private long uploadsOfPart(int n) {
        return front.seen().stream().filter(S3Front.uploadOfPart(n)).count();
    }

    @Test
    void serverErrorOnPart3_isRetriedFromItsBuffer_andTheObjectIsExact() throws IOException {
        String bucket = s3.newBucket("fault-500");
        front.inject(S3Front.uploadOfPart(3), S3Front.Fault.SERVER_ERROR, 1);
        byte[] data = random(4 * PART + 123, 1);
        S3Sink sink = sink(bucket);

        put(sink, "backups/b1/dump", ObjectKind.DATA, data);

        assertThat(read(sink, "backups/b1/dump")).isEqualTo(data);
        assertThat(uploadsOfPart(3)).isEqualTo(2);
        assertThat(uploadsOfPart(2)).isEqualTo(1);
    }

    @Test
    void partDamagedOnTheWay_isRefusedByItsSha256_andResentFromItsBuffer() throws IOException {
        String bucket = s3.newBucket("fault-corrupt");
        front.inject(S3Front.uploadOfPart(2), S3Front.Fault.CORRUPT_BODY, 1);
        byte[] data = random(3 * PART + 5, 8);
        S3Sink sink = sink(bucket);

        put(sink, "backups/b1/dump", ObjectKind.DATA, data);

        assertThat(read(sink, "backups/b1/dump")).isEqualTo(data);
        assertThat(uploadsOfPart(2)).isEqualTo(2);
    }

    @Test
    void withCrc32cParts_aDamagedPartIsRefusedAndResent_andTheObjectIsExact() throws IOException {
        String bucket = s3.newBucket("fault-corrupt-crc");
        front.inject(S3Front.uploadOfPart(2), S3Front.Fault.CORRUPT_BODY, 1);
        front.inject(s -> s.method().equals("PUT") && s.path().endsWith("/small"), S3Front.Fault.CORRUPT_BODY, 1);
        byte[] data = random(3 * PART + 5, 11);
        byte[] small = random(700, 12);
        S3Sink sink = sink(bucket, PartChecksum.CRC32C);

        put(sink, "backups/b1/dump", ObjectKind.DATA, data);
        put(sink, "backups/b1/small", ObjectKind.DATA, small);

        assertThat(read(sink, "backups/b1/dump")).isEqualTo(data);
        assertThat(read(sink, "backups/b1/small")).isEqualTo(small);
        assertThat(uploadsOfPart(2)).isEqualTo(2);
        assertThat(client.headObject(b -> b.bucket(bucket).key("backups/b1/dump")
                .checksumMode(software.amazon.awssdk.services.s3.model.ChecksumMode.ENABLED)).join().checksumCRC32C())
                .endsWith("-4");
    }

    @Test
    void withCrc32cParts_aCompleteWhoseAnswerIsLost_isRecognizedAsOurs() throws IOException {
        String bucket = s3.newBucket("fault-lost-complete-crc");
        front.inject(S3Front.completeOfMultipart(), S3Front.Fault.LOSE_RESPONSE, 1);
        front.inject(s -> s.method().equals("PUT") && s.path().endsWith("/manifest.json"), S3Front.Fault.LOSE_RESPONSE, 1);
        byte[] data = random(2 * PART + 7, 13);
        byte[] manifest = random(500, 14);
        S3Sink sink = sink(bucket, PartChecksum.CRC32C);

        put(sink, "backups/b1/dump", ObjectKind.DATA, data);
        put(sink, "backups/b1/manifest.json", ObjectKind.MANIFEST, manifest);

        assertThat(read(sink, "backups/b1/dump")).isEqualTo(data);
        assertThat(read(sink, "backups/b1/manifest.json")).isEqualTo(manifest);
        assertThat(front.seen().stream().filter(S3Front.completeOfMultipart()).count()).isEqualTo(2);
    }

    @Test
    void partDamagedOnEveryAttempt_failsTheUpload_andPublishesNothing() throws IOException {
        String bucket = s3.newBucket("fault-corrupt-always");
        front.inject(S3Front.uploadOfPart(2), S3Front.Fault.CORRUPT_BODY, 100);
        S3Sink sink = sink(bucket);

        assertThatThrownBy(() -> put(sink, "backups/b1/dump", ObjectKind.DATA, random(3 * PART, 9)))
                .isInstanceOf(IOException.class).hasMessageContaining("part 2").hasMessageContaining("attempt 3");
        assertThat(sink.list("")).isEmpty();
        assertThat(uploadsOfPart(2)).isEqualTo(3);
        assertThat(client.listMultipartUploads(b -> b.bucket(bucket)).join().uploads()).isEmpty();
    }

    @Test
    void singlePutDamagedOnTheWay_isRefusedAndResent() throws IOException {
        String bucket = s3.newBucket("fault-corrupt-put");
        front.inject(s -> s.method().equals("PUT") && s.path().endsWith("/small"), S3Front.Fault.CORRUPT_BODY, 1);
        byte[] data = random(1000, 10);
        S3Sink sink = sink(bucket);

        put(sink, "backups/b1/small", ObjectKind.DATA, data);

        assertThat(read(sink, "backups/b1/small")).isEqualTo(data);
        assertThat(front.seen().stream().filter(s -> s.method().equals("PUT") && s.path().endsWith("/small")).count()).isEqualTo(2);
    }

    @Test
    void droppedConnectionDuringPart2_isRetried_andTheObjectIsExact() throws IOException {
        String bucket = s3.newBucket("fault-drop");
        front.inject(S3Front.uploadOfPart(2), S3Front.Fault.DROP_CONNECTION, 1);
        byte[] data = random(3 * PART, 2);
        S3Sink sink = sink(bucket);

        put(sink, "backups/b1/dump", ObjectKind.DATA, data);

        assertThat(read(sink, "backups/b1/dump")).isEqualTo(data);
        assertThat(uploadsOfPart(2)).isEqualTo(2);
    }

    @Test
    void completeWhoseAnswerIsLost_isRetried_andRecognizesItsOwnObject() throws IOException {
        String bucket = s3.newBucket("fault-lost-complete");
        front.inject(S3Front.completeOfMultipart(), S3Front.Fault.LOSE_RESPONSE, 1);
        byte[] data = random(2 * PART + 7, 6);
        S3Sink sink = sink(bucket);

        put(sink, "backups/b1/dump", ObjectKind.DATA, data);

        assertThat(read(sink, "backups/b1/dump")).isEqualTo(data);
        assertThat(front.seen().stream().filter(S3Front.completeOfMultipart()).count()).isEqualTo(2);
    }

    @Test
    void completeWhoseAnswerIsLost_withoutIfNoneMatch_isRecognizedByItsChecksum() throws IOException {
        // a mutable object is written without If-None-Match: the repeated complete finds the upload
        // gone, and only the object's checksum says that the first attempt was ours
        String bucket = s3.newBucket("fault-lost-complete-state");
        front.inject(S3Front.completeOfMultipart(), S3Front.Fault.LOSE_RESPONSE, 1);
        byte[] data = random(2 * PART + 11, 8);
        S3Sink sink = sink(bucket);

        put(sink, "state/pins/p1", ObjectKind.STATE, data);

        assertThat(read(sink, "state/pins/p1")).isEqualTo(data);
        assertThat(front.seen().stream().filter(S3Front.completeOfMultipart()).count()).isEqualTo(2);
    }

    @Test
    void putWhoseAnswerIsLost_isRetried_andRecognizesItsOwnObject() throws IOException {
        String bucket = s3.newBucket("fault-lost-put");
        front.inject(s -> s.method().equals("PUT") && s.path().endsWith("/manifest.json"), S3Front.Fault.LOSE_RESPONSE, 1);
        byte[] data = random(500, 7);
        S3Sink sink = sink(bucket);

        put(sink, "backups/b1/manifest.json", ObjectKind.MANIFEST, data);

        assertThat(read(sink, "backups/b1/manifest.json")).isEqualTo(data);
    }

    @Test
    void partFailingEveryAttempt_failsTheCommit_publishesNothing_andLeavesNoUpload() {
        String bucket = s3.newBucket("fault-persistent");
        front.inject(S3Front.uploadOfPart(2), S3Front.Fault.SERVER_ERROR, 100);
        S3Sink sink = sink(bucket);

        assertThatThrownBy(() -> put(sink, "backups/b1/dump", ObjectKind.DATA, random(3 * PART, 3)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("part 2").hasMessageContaining("attempt 3").hasMessageContaining("500");

        assertThat(s3.client().listObjectsV2(b -> b.bucket(bucket)).join().contents()).isEmpty();
        assertThat(s3.client().listMultipartUploads(b -> b.bucket(bucket)).join().uploads()).isEmpty();
        assertThat(uploadsOfPart(2)).isEqualTo(3);
    }

    @Test
    void wrongCredentials_failWithAClearError_andPublishNothing() {
        String bucket = s3.newBucket("fault-creds");
        front.requireAccessKey("local-access-key");
        try (S3AsyncClient wrong = s3.clientBuilder().endpointOverride(front.endpoint())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("stolen-key", "nope")))
                .build()) {
            S3Sink sink = S3Sink.builder().client(wrong).bucket(bucket).build();

            assertThatThrownBy(() -> put(sink, "backups/b1/manifest.json", ObjectKind.MANIFEST, random(100, 4)))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("rejected the credentials").hasMessageContaining("InvalidAccessKeyId")
                    .hasMessageContaining(bucket)
                    .hasMessageNotContaining("nope");
            assertThatThrownBy(() -> put(sink, "backups/b1/dump", ObjectKind.DATA, random(2 * PART, 4)))
                    .hasMessageContaining("rejected the credentials");
        }
        assertThat(s3.client().listObjectsV2(b -> b.bucket(bucket)).join().contents()).isEmpty();
    }

    @Test
    void missingBucket_failsWithAnErrorNamingIt() {
        S3Sink sink = sink("no-such-bucket-here");
        assertThatThrownBy(() -> put(sink, "backups/b1/manifest.json", ObjectKind.MANIFEST, random(100, 5)))
                .isInstanceOf(IOException.class).hasMessageContaining("bucket 'no-such-bucket-here' does not exist");
        assertThatThrownBy(() -> sink.list("backups/")).hasMessageContaining("bucket 'no-such-bucket-here' does not exist");
    }

    @Test
    void twoWritersOfOneLargeImmutableKey_exactlyOneWins_theLoserGetsObjectExists() throws Exception {
        String bucket = s3.newBucket("race");
        S3Sink sink = sink(bucket);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            List<byte[]> payloads = List.of(random(2 * PART + 1, 10), random(2 * PART + 2, 11));
            for (byte[] p : payloads) {
                Callable<Boolean> c = () -> {
                    try {
                        put(sink, "locks/repo/1.lease", ObjectKind.LOCK, p);
                        return true;
                    } catch (ObjectExistsException e) {
                        return false;
                    }
                };
                results.add(pool.submit(c));
            }
            boolean first = results.get(0).get();
            boolean second = results.get(1).get();
            assertThat(first ^ second).as("exactly one of %s, %s", first, second).isTrue();
            assertThat(read(sink, "locks/repo/1.lease")).isEqualTo(payloads.get(first ? 0 : 1));
        } finally {
            pool.shutdownNow();
        }
    }
}
