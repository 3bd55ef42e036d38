package dev.backstop.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.DataSize;
import dev.backstop.core.IncompleteWrite;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.Orphans;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.SourceInfo;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * A writer killed mid-upload leaves an incomplete multipart upload; Repository.orphans finds it
 * under the repository's prefix without any lifecycle rule, and removeOrphans aborts it and
 * nothing else.
 */
class S3OrphansTest {
    private static final Duration GRACE = Duration.ofHours(1);
    private final LocalS3Server s3 = LocalS3Server.get();

    @Test
    void incompleteMultipartUpload_isAnOrphanAfterTheGracePeriod_andRemovalAbortsItAndNothingElse() throws Exception {
        String bucket = s3.newBucket("orphans");
        S3Sink sink = S3Sink.builder().client(s3.client()).bucket(bucket).prefix("prod/db").partSize(DataSize.ofMiB(5)).build();
        Repository repo = Repository.on(sink);
        byte[] data = new byte[200_000];
        new Random(5).nextBytes(data);
        Manifest good = BackupPipeline.builder().source(bytes(data)).repository(repo).noEncryption().build().run();
        s3.client().putObject(b -> b.bucket(bucket).key("prod/db/backups/notes.txt"), AsyncRequestBody.fromString("notes")).join();

        // what a writer killed between two parts leaves: an upload with a part, never completed or aborted
        String crashedKey = "backups/" + BackupId.generate(Instant.now(), BackupType.RAW, new Random(9)).value() + "/data";
        String uploadId = startUpload(bucket, "prod/db/" + crashedKey);
        String elsewhere = startUpload(bucket, "other/backups/x/data");
        Instant started = Instant.now();

        assertThat(repo.orphans(started, GRACE).isEmpty()).as("inside the grace period").isTrue();
        Instant later = started.plus(Duration.ofHours(2));
        Orphans found = repo.orphans(later, GRACE);
        assertThat(found.objects()).isEmpty();
        assertThat(found.incomplete()).singleElement().satisfies(w -> {
            assertThat(w.key()).isEqualTo(crashedKey);
            assertThat(w.handle()).isEqualTo(uploadId);
            assertThat(w.lastActivity()).isBefore(later.minus(GRACE));
        });
        assertThat(found.foreign()).extracting(ObjectInfo::key).containsExactly("backups/notes.txt");

        Orphans removed = repo.removeOrphans(later, GRACE);

        assertThat(removed.incomplete()).extracting(IncompleteWrite::handle).containsExactly(uploadId);
        assertThat(uploads(bucket)).extracting(MultipartUpload::uploadId).as("the upload outside the prefix stays")
                .containsExactly(elsewhere);
        assertThat(sink.list("backups/notes.txt")).as("foreign objects are never removed").hasSize(1);
        assertThat(Restore.builder().repository(repo).build().verify(good).passed()).isTrue();
        assertThat(repo.orphans(later, GRACE).isEmpty()).isTrue();
        sink.discard(removed.incomplete().get(0)); // discarding what is gone is not an error
    }

    @Test
    void accessDenied_isTranslatedAsTheFileSystemsRefusal() {
        assertThat(dev.backstop.s3.internal.S3Errors.translate("PUT", "b", "k",
                software.amazon.awssdk.services.s3.model.S3Exception.builder().statusCode(403)
                        .awsErrorDetails(software.amazon.awssdk.awscore.exception.AwsErrorDetails.builder()
                                .errorCode("AccessDenied").build()).build()))
                .isInstanceOf(AccessDeniedException.class).hasMessageContaining("S3 denied PUT of s3://b/k");
    }

    private String startUpload(String bucket, String key) {
        String id = s3.client().createMultipartUpload(b -> b.bucket(bucket).key(key)).join().uploadId();
        s3.client().uploadPart(b -> b.bucket(bucket).key(key).uploadId(id).partNumber(1),
                AsyncRequestBody.fromBytes(new byte[5 * 1024 * 1024])).join();
        return id;
    }

    private List<MultipartUpload> uploads(String bucket) {
        return s3.client().listMultipartUploads(b -> b.bucket(bucket)).join().uploads();
    }

    private static CaptureSource bytes(byte[] data) {
        return new CaptureSource() {
            @Override
            public BackupType type() {
                return BackupType.RAW;
            }

            @Override
            public CaptureResult capture(Streams streams) throws java.io.IOException {
                try (OutputStream out = streams.open("data")) {
                    out.write(data);
                }
                return CaptureResult.builder(SourceInfo.of("test", "1")).build();
            }
        };
    }
}
