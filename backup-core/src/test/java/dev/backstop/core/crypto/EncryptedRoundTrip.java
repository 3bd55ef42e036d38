package dev.backstop.core.crypto;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.TestSources;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;

/** Encrypted backups of fixed bytes into one repository, and their restore, for the key-handling tests. */
record EncryptedRoundTrip(Repository repo, byte[] data) {

    /** Backs {@code data} up as stream {@code data}, compressed and encrypted under {@code kek}. */
    Manifest backup(KeyEncryptionKey kek) {
        return BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo)
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();
    }

    /** The bytes of stream {@code data} of {@code m}, opened with {@code kek}. */
    byte[] restore(KeyEncryptionKey kek, Manifest m) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Restore.builder().repository(repo).keys(kek).build().copyTo(m, "data", out);
        return out.toByteArray();
    }
}
