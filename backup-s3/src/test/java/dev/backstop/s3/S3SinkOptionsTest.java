package dev.backstop.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.DataSize;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.ObjectLockedException;
import dev.backstop.core.Sink;
import dev.backstop.core.StorageTier;
import dev.backstop.core.retention.TierSchedule;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.LifecycleRule;
import software.amazon.awssdk.services.s3.model.ObjectLockLegalHoldStatus;
import software.amazon.awssdk.services.s3.model.ObjectLockMode;
import software.amazon.awssdk.services.s3.model.ObjectLockRetention;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.StorageClass;
import software.amazon.awssdk.services.s3.model.TransitionStorageClass;

/** Settings that S3 stores per object or bucket, requested by the sink and read back from the server. */
class S3SinkOptionsTest {
    private static final Instant NOW = Instant.parse("2026-11-21T03:15:00Z");
    private final LocalS3Server s3 = LocalS3Server.get();
    private final S3AsyncClient client = s3.client();

    private static void put(Sink sink, String key, ObjectKind kind, int size) throws Exception {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        try (Sink.Upload up = sink.create(key, kind)) {
            try (OutputStream out = up.stream()) {
                out.write(data);
            }
            up.commit();
        }
    }

    private HeadObjectResponse head(String bucket, String key) {
        return client.headObject(b -> b.bucket(bucket).key(key)).join();
    }

    @Test
    void objectLock_isRequestedForBackupObjectsAndReadBack_butNotForKeysOrLeases() throws Exception {
        String bucket = s3.newLockedBucket("locked");
        Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
        S3Sink sink = S3Sink.builder().client(client).bucket(bucket).clock(clock).partSize(DataSize.ofMiB(5))
                .objectLock(ObjectLock.retain(ObjectLock.Mode.COMPLIANCE, Duration.ofDays(35)).withLegalHold()).build();
        put(sink, "backups/b1/dump", ObjectKind.DATA, 6 * 1024 * 1024);
        put(sink, "backups/b1/manifest.json", ObjectKind.MANIFEST, 100);
        put(sink, "keys/b1.dek", ObjectKind.KEY, 100);
        put(sink, "locks/lease", ObjectKind.LOCK, 10);
        put(sink, "audit/2026/11/20261121T000000.000Z-0123456789ab.json", ObjectKind.AUDIT, 100);

        for (String key : List.of("backups/b1/dump", "backups/b1/manifest.json",
                "audit/2026/11/20261121T000000.000Z-0123456789ab.json")) {
            ObjectLockRetention r = client.getObjectRetention(b -> b.bucket(bucket).key(key)).join().retention();
            assertThat(r.modeAsString()).as(key).isEqualTo(ObjectLockMode.COMPLIANCE.toString());
            assertThat(r.retainUntilDate().truncatedTo(ChronoUnit.SECONDS)).as(key).isEqualTo(NOW.plus(Duration.ofDays(35)));
            assertThat(client.getObjectLegalHold(b -> b.bucket(bucket).key(key)).join().legalHold().status())
                    .as(key).isEqualTo(ObjectLockLegalHoldStatus.ON);
        }
        for (String key : List.of("keys/b1.dek", "locks/lease")) {
            HeadObjectResponse h = head(bucket, key);
            assertThat(h.objectLockMode()).as(key).isNull();
            assertThat(h.objectLockLegalHoldStatus()).as(key).isNull();
        }
    }

    @Test
    void lockOf_aRetainedVersion_explainsARefusedDeleteWithItsDate() throws Exception {
        // S3Mock stores retention but does not refuse the delete; this checks how a refusal is explained
        String bucket = s3.newLockedBucket("explain");
        S3Sink sink = S3Sink.builder().client(client).bucket(bucket).clock(Clock.fixed(Instant.now(), ZoneOffset.UTC))
                .objectLock(ObjectLock.retain(ObjectLock.Mode.GOVERNANCE, Duration.ofDays(2))).build();
        put(sink, "backups/b1/dump", ObjectKind.DATA, 10);
        String version = head(bucket, "backups/b1/dump").versionId();

        ObjectLockedException e = S3Deletion.lockOf(client, bucket, "backups/b1/dump", "backups/b1/dump", version,
                new RuntimeException("403 AccessDenied"));

        assertThat(e).isNotNull();
        assertThat(e.key()).isEqualTo("backups/b1/dump");
        assertThat(e.retainUntil()).isPresent();
        assertThat(e.getMessage()).contains("backups/b1/dump", "locked until");
    }

    @Test
    void delete_inVersionedBucket_removesEveryVersion() throws Exception {
        String bucket = s3.newBucket("versions");
        client.putBucketVersioning(b -> b.bucket(bucket).versioningConfiguration(v -> v.status("Enabled"))).join();
        S3Sink sink = S3Sink.builder().client(client).bucket(bucket).build();
        put(sink, "keys/b1.dek", ObjectKind.KEY, 10);
        put(sink, "keys/b1.dek", ObjectKind.KEY, 11);

        sink.delete("keys/b1.dek");

        assertThat(client.listObjectVersions(b -> b.bucket(bucket)).join().versions()).isEmpty();
        assertThat(sink.list("")).isEmpty();
    }

    @Test
    void storageClasses_followKindAndTier_andSmallCatalogObjectsStayStandard() throws Exception {
        String bucket = s3.newBucket("classes");
        S3Sink sink = S3Sink.builder().client(client).bucket(bucket).partSize(DataSize.ofMiB(5))
                .tier(StorageTier.WARM).storageClass(ObjectKind.VALIDATION, StorageClass.ONEZONE_IA).build();
        put(sink, "backups/b1/dump", ObjectKind.DATA, 6 * 1024 * 1024);
        put(sink, "wal/1/1/000000010000000000000001", ObjectKind.LOG, 1000);
        put(sink, "backups/b1/manifest.json", ObjectKind.MANIFEST, 100);
        put(sink, "backups/b1/validations/v.json", ObjectKind.VALIDATION, 100);

        assertThat(head(bucket, "backups/b1/dump").storageClass()).isEqualTo(StorageClass.STANDARD_IA);
        assertThat(head(bucket, "wal/1/1/000000010000000000000001").storageClass()).isEqualTo(StorageClass.STANDARD_IA);
        assertThat(head(bucket, "backups/b1/validations/v.json").storageClass()).isEqualTo(StorageClass.ONEZONE_IA);
        StorageClass manifest = head(bucket, "backups/b1/manifest.json").storageClass();
        assertThat(manifest == null || manifest == StorageClass.STANDARD).as("manifest class %s", manifest).isTrue();
    }

    @Test
    void encryption_s3Managed_isRequestedOnSingleAndMultipartUploads() throws Exception {
        String bucket = s3.newBucket("sse");
        S3Sink sink = S3Sink.builder().client(client).bucket(bucket).partSize(DataSize.ofMiB(5))
                .encryption(S3Encryption.s3Managed()).build();
        put(sink, "backups/b1/small", ObjectKind.DATA, 10);
        put(sink, "backups/b1/large", ObjectKind.DATA, 6 * 1024 * 1024);
        assertThat(head(bucket, "backups/b1/small").serverSideEncryption()).isEqualTo(ServerSideEncryption.AES256);
        // the multipart request carries the header too, but S3Mock 5.2 drops SSE when it assembles parts
    }

    @Test
    void lifecycle_fromTierSchedule_isAppliedAndReadBack_keepingOtherRules() throws Exception {
        String bucket = s3.newBucket("lifecycle");
        client.putBucketLifecycleConfiguration(b -> b.bucket(bucket).lifecycleConfiguration(c -> c.rules(
                LifecycleRule.builder().id("someone-else").status("Enabled").filter(f -> f.prefix("tmp/"))
                        .expiration(e -> e.days(1)).build()))).join();
        S3Sink sink = S3Sink.builder().client(client).bucket(bucket).prefix("prod/orders").build();
        TierSchedule schedule = TierSchedule.startingIn(StorageTier.HOT)
                .then(StorageTier.WARM, Duration.ofDays(30))
                .then(StorageTier.COLD, Duration.ofDays(90))
                .deleteAfter(Duration.ofDays(365));

        S3Lifecycle.apply(sink, schedule);
        S3Lifecycle.apply(sink, schedule);

        List<LifecycleRule> rules = client.getBucketLifecycleConfiguration(b -> b.bucket(bucket)).join().rules();
        assertThat(rules).extracting(LifecycleRule::id)
                .containsExactlyInAnyOrder("someone-else", "backstop-prod_orders_-tiers", "backstop-prod_orders_-abort-incomplete");
        LifecycleRule tiers = rules.stream().filter(r -> r.id().endsWith("-tiers")).findFirst().orElseThrow();
        assertThat(tiers.filter().and().prefix()).isEqualTo("prod/orders/backups/");
        assertThat(tiers.filter().and().objectSizeGreaterThan()).isEqualTo(128 * 1024L);
        assertThat(tiers.transitions()).extracting(t -> t.days(), t -> t.storageClass())
                .containsExactly(org.assertj.core.groups.Tuple.tuple(30, TransitionStorageClass.STANDARD_IA),
                        org.assertj.core.groups.Tuple.tuple(90, TransitionStorageClass.GLACIER_IR));
        assertThat(tiers.expiration()).as("deleting is retention's job").isNull();
        LifecycleRule abort = rules.stream().filter(r -> r.id().endsWith("-abort-incomplete")).findFirst().orElseThrow();
        assertThat(abort.abortIncompleteMultipartUpload().daysAfterInitiation()).isEqualTo(7);
    }

    @Test
    void builder_rejectsBadSettingsNamingTheBound() {
        assertThatThrownBy(() -> S3Sink.builder().partSize(DataSize.ofMiB(4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("partSize").hasMessageContaining("5 MiB");
        assertThatThrownBy(() -> S3Sink.builder().bucket("Bad_Bucket"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Bad_Bucket");
        assertThatThrownBy(() -> S3Sink.builder().partsInFlight(0)).hasMessageContaining("1..64");
        assertThatThrownBy(() -> S3Sink.builder().bucket("b-1").build()).hasMessageContaining("client(...) or region(...)");
        assertThatThrownBy(() -> ObjectLock.retain(ObjectLock.Mode.GOVERNANCE, TierSchedule.startingIn(StorageTier.HOT)))
                .hasMessageContaining("no deleteAfter");
        assertThatThrownBy(() -> S3Sink.builder().client(client).bucket("b-1").build().create("../x", ObjectKind.DATA))
                .hasMessageContaining("'../x'");
    }

    @Test
    void toString_showsLocationAndSettingsButNoCredentials() {
        S3Sink sink = S3Sink.builder().region(software.amazon.awssdk.regions.Region.EU_WEST_1).bucket("b-1")
                .credentials(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create("AKIDSECRETID", "very-secret")))
                .encryption(S3Encryption.kms("alias/backups")).build();
        try (sink) {
            assertThat(sink.toString()).contains("s3://b-1/", "SSE-KMS(alias/backups)").doesNotContain("very-secret", "AKIDSECRETID");
        }
    }
}
