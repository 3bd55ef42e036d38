package dev.backstop.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.DataSize;
import dev.backstop.core.Digest;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import dev.backstop.s3.internal.S3Upload;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Memory is bounded by part buffers, not object size: 3 GiB of unknown length streamed to S3 in
 * a JVM with -Xmx192m (see the pom) that also runs the S3 server. The SDK's synchronous
 * putObject without a length would buffer it all and run out of memory.
 */
class S3LargeUploadIT {
    private static final long SIZE = 3L << 30;
    private static final int BLOCK = 1 << 20;

    @Test
    void threeGiB_ofUnknownLength_streamsThroughA192MiBHeap_andReadsBackExact() throws Exception {
        assertThat(Runtime.getRuntime().maxMemory()).as("run with -Xmx192m").isLessThanOrEqualTo(192L << 20);
        LocalS3Server s3 = LocalS3Server.get();
        String bucket = s3.newBucket("large");
        S3Sink sink = S3Sink.builder().client(s3.client()).bucket(bucket)
                .partSize(DataSize.ofMiB(16)).partsInFlight(2).build();
        MessageDigest written = Digest.newSha256();
        byte[] block = new byte[BLOCK];
        Random r = new Random(11);
        int parts;

        try (Sink.Upload up = sink.create("backups/big/dump", ObjectKind.DATA)) {
            try (OutputStream out = up.stream()) {
                for (long n = 0; n < SIZE; n += BLOCK) {
                    r.nextBytes(block);
                    written.update(block);
                    out.write(block);
                }
            }
            up.commit();
            parts = ((S3Upload) up).partCount();
        }

        assertThat(parts).isEqualTo((int) (SIZE / (16 << 20)));
        assertThat(sink.list("backups/big/")).extracting(ObjectInfo::size).containsExactly(SIZE);
        MessageDigest read = Digest.newSha256();
        try (InputStream in = sink.open("backups/big/dump")) {
            for (int n; (n = in.read(block)) >= 0; ) {
                read.update(block, 0, n);
            }
        }
        assertThat(Digest.of(read.digest())).isEqualTo(Digest.of(written.digest()));
        sink.delete("backups/big/dump");
    }
}
