package dev.backstop.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.DataSize;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Sink;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.NoSuchFileException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class S3SinkTest {
    private static final int MIB = 1024 * 1024;
    private final LocalS3Server s3 = LocalS3Server.get();
    private String bucket;
    private S3Sink sink;

    @BeforeEach
    void setUp() {
        bucket = s3.newBucket("sink");
        sink = S3Sink.builder().client(s3.client()).bucket(bucket).prefix("repo").partSize(DataSize.ofMiB(5)).build();
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private void put(String key, ObjectKind kind, byte[] data) throws Exception {
        try (Sink.Upload up = sink.create(key, kind)) {
            try (OutputStream out = up.stream()) {
                out.write(data);
            }
            up.commit();
        }
    }

    private byte[] read(String key) throws Exception {
        try (InputStream in = sink.open(key)) {
            return in.readAllBytes();
        }
    }

    @Test
    void commit_ofObjectsAroundPartBoundaries_storesExactBytes() throws Exception {
        for (int size : new int[] {0, 1, 5 * MIB - 1, 5 * MIB, 5 * MIB + 1, 11 * MIB}) {
            byte[] data = bytes(size, size);
            put("backups/b1/obj-" + size, ObjectKind.DATA, data);
            assertThat(read("backups/b1/obj-" + size)).as("object of %d bytes", size).isEqualTo(data);
        }
    }

    @Test
    void create_withoutCommit_publishesNothingAndLeavesNoMultipartUpload() throws Exception {
        try (Sink.Upload up = sink.create("backups/b1/dump", ObjectKind.DATA)) {
            up.stream().write(bytes(12 * MIB, 1));
        }
        assertThat(sink.list("")).isEmpty();
        assertThat(s3.client().listMultipartUploads(b -> b.bucket(bucket)).join().uploads()).isEmpty();
        assertThatThrownBy(() -> sink.open("backups/b1/dump")).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void commit_ofImmutableKindOverExistingKey_failsWithObjectExists() throws Exception {
        put("backups/b1/manifest.json", ObjectKind.MANIFEST, "first".getBytes());
        assertThatThrownBy(() -> put("backups/b1/manifest.json", ObjectKind.MANIFEST, "second".getBytes()))
                .isInstanceOf(ObjectExistsException.class);
        assertThatThrownBy(() -> put("backups/b1/manifest.json", ObjectKind.DATA, bytes(6 * MIB, 2)))
                .as("multipart complete is conditional too").isInstanceOf(ObjectExistsException.class);
        assertThat(read("backups/b1/manifest.json")).isEqualTo("first".getBytes());
    }

    @Test
    void commit_ofReplaceableKind_replacesExistingObject() throws Exception {
        put("keys/b1.dek", ObjectKind.KEY, "old".getBytes());
        put("keys/b1.dek", ObjectKind.KEY, "new".getBytes());
        assertThat(read("keys/b1.dek")).isEqualTo("new".getBytes());
    }

    @Test
    void list_returnsKeysUnderPrefixRelativeToRepository() throws Exception {
        put("backups/b2/x", ObjectKind.DATA, bytes(3, 1));
        put("backups/b1/y", ObjectKind.DATA, bytes(4, 1));
        put("keys/b1.dek", ObjectKind.KEY, bytes(5, 1));
        List<ObjectInfo> all = sink.list("backups/");
        assertThat(all).extracting(ObjectInfo::key).containsExactly("backups/b1/y", "backups/b2/x");
        assertThat(all).extracting(ObjectInfo::size).containsExactly(4L, 3L);
    }

    @Test
    void delete_removesObjectAndMissingKeyIsNoError() throws Exception {
        put("backups/b1/x", ObjectKind.DATA, bytes(3, 1));
        sink.delete("backups/b1/x");
        sink.delete("backups/b1/x");
        assertThat(sink.list("")).isEmpty();
    }

    @Test
    void open_ofMissingKey_throwsNoSuchFile() {
        assertThatThrownBy(() -> sink.open("backups/none/manifest.json")).isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("backups/none/manifest.json");
    }
}
