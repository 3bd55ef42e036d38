package com.example.shop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.source.FileSource;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.s3.S3Sink;
import dev.backstop.testkit.s3.LocalS3;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class S3RoundTripTest {
    @TempDir
    Path tmp;

    @Test
    void aBackupToS3_restoresByteForByte() throws Exception {
        byte[] data = new byte[3 * 1024 * 1024];
        new Random(7).nextBytes(data);
        Files.write(tmp.resolve("orders.bin"), data);
        LocalKeysetKek.create(tmp.resolve("kek.json"));
        KeyEncryptionKey kek = LocalKeysetKek.load(tmp.resolve("kek.json"));

        try (LocalS3 s3 = LocalS3.start()) {
            S3Sink sink = s3.sinkBuilder("shop-backups").prefix("prod").build();
            Repository repo = Repository.on(sink);
            Manifest backup = BackupPipeline.builder()
                    .source(FileSource.of(tmp.resolve("orders.bin"), "data"))
                    .compress(ZstdTransform.level(3))
                    .encrypt(Encryption.with(kek))
                    .repository(repo)
                    .build()
                    .run();

            Restore restore = Restore.builder().repository(repo).keys(kek).build();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            restore.copyTo(restore.manifest(backup.id()), "data", out);
            restore.verify(backup).orThrow();

            assertArrayEquals(data, out.toByteArray());
            assertEquals("shop-backups", s3.client().listBuckets().join().buckets().get(0).name());
        }
    }
}
