package dev.backstop.testkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.CaptureResult;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.DataSize;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.replication.Replication;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.s3.S3Sink;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/** Copies between S3 buckets: server-side on one client, streamed across clients, never re-encoded. */
class S3ReplicationTest {
    private final LocalS3 s3 = LocalS3.shared();
    @TempDir
    Path tmp;

    private static CaptureSource source(byte[] data) {
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

    private S3Sink sink(S3AsyncClient client, String hint) {
        return S3Sink.builder().client(client).bucket(s3.newBucket(hint)).prefix("repo").partSize(DataSize.ofMiB(5)).build();
    }

    private byte[] restore(Repository repo, KeyEncryptionKey kek, Manifest m) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Restore r = Restore.builder().repository(repo).keys(kek).build();
        r.copyTo(r.manifest(m.id()), "data", out);
        return out.toByteArray();
    }

    @Test
    void copy_betweenBucketsOfOneClient_isServerSide_andTheReplicaRestoresAndVerifies() {
        byte[] data = new byte[12 * 1024 * 1024];
        new Random(3).nextBytes(data);
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Repository primary = Repository.on(sink(s3.client(), "primary"));
        Repository replica = Repository.on(sink(s3.client(), "replica"));
        Manifest m = BackupPipeline.builder().source(source(data)).repository(primary)
                .compress(ZstdTransform.level(1)).encrypt(Encryption.with(kek)).build().run();
        Replication replication = Replication.from(primary).to("dr", replica).build();

        Replication.Outcome o = replication.copy(m.id()).get(0);

        assertThat(o.copied()).isEqualTo(1);
        assertThat(o.serverSide()).isEqualTo(1);
        assertThat(restore(replica, kek, m)).isEqualTo(data);
        assertThat(replication.verify(m.id()).get(0).findings()).isEmpty();
        assertThat(replication.status(m.id()).get("dr").validator()).isEqualTo("replica:dr:verify");
        assertThat(replication.copy(m.id()).get(0).skipped()).as("second run skips").isEqualTo(1);
    }

    @Test
    void copy_acrossClients_streamsTheStoredBytes() {
        byte[] data = new byte[3 * 1024 * 1024];
        new Random(4).nextBytes(data);
        try (S3AsyncClient other = s3.clientBuilder().build()) {
            Repository primary = Repository.on(sink(s3.client(), "primary"));
            Repository replica = Repository.on(sink(other, "replica"));
            Manifest m = BackupPipeline.builder().source(source(data)).repository(primary).noEncryption().build().run();

            Replication.Outcome o = Replication.from(primary).to("dr", replica).build().copy(m.id()).get(0);

            assertThat(o.copied()).isEqualTo(1);
            assertThat(o.serverSide()).isZero();
            assertThat(o.bytesCopied()).isGreaterThanOrEqualTo(data.length);
        }
    }
}
