package dev.backstop.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.TestSources;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** KEK rotation, re-wrapping and crypto-erase, end to end on a filesystem repository. */
class KeyRotationTest {
    @TempDir
    Path tmp;
    Path kekFile;
    Repository repo;
    byte[] data = TestSources.textLike(300_000, 5);

    @BeforeEach
    void setUp() {
        kekFile = tmp.resolve("kek.json");
        repo = Repository.filesystem(tmp.resolve("repo"));
    }

    Manifest backup(KeyEncryptionKey kek) {
        return new EncryptedRoundTrip(repo, data).backup(kek);
    }

    byte[] restore(KeyEncryptionKey kek, Manifest m) {
        return new EncryptedRoundTrip(repo, data).restore(kek, m);
    }

    @Test
    void afterRotation_newBackupsUseTheNewKey_andOldBackupsStillRestore() {
        LocalKeysetKek first = LocalKeysetKek.create(kekFile);
        Manifest old = backup(first);
        LocalKeysetKek rotated = LocalKeysetKek.rotate(kekFile);
        Manifest fresh = backup(rotated);

        assertThat(rotated.id()).isNotEqualTo(first.id());
        assertThat(rotated.keyIds()).containsExactly(rotated.id(), first.id());
        assertThat(old.encryption().orElseThrow().kekId()).isEqualTo(first.id());
        assertThat(fresh.encryption().orElseThrow().kekId()).isEqualTo(rotated.id());
        assertThat(restore(rotated, old)).isEqualTo(data);
        assertThat(restore(rotated, fresh)).isEqualTo(data);
        assertThat(LocalKeysetKek.load(kekFile).id()).isEqualTo(rotated.id());
    }

    @Test
    void rewrap_movesOldDataKeysToTheNewKek_withoutTouchingData() throws Exception {
        LocalKeysetKek first = LocalKeysetKek.create(kekFile);
        Manifest a = backup(first);
        Manifest b = backup(first);
        Path dataFile = ((dev.backstop.core.fs.FileSystemSink) repo.sink()).pathOf(a.objects().get(0).key());
        byte[] before = Files.readAllBytes(dataFile);

        LocalKeysetKek rotated = LocalKeysetKek.rotate(kekFile);
        Manifest c = backup(rotated);
        List<BackupId> rewrapped = Encryption.with(rotated).rewrap(repo);

        assertThat(rewrapped).containsExactlyInAnyOrder(a.id(), b.id());
        assertThat(Encryption.with(rotated).rewrap(repo)).as("idempotent").isEmpty();
        assertThat(Files.readAllBytes(dataFile)).as("data untouched").isEqualTo(before);
        assertThat(Files.readString(((dev.backstop.core.fs.FileSystemSink) repo.sink()).pathOf(MetadataKey.OBJECT)))
                .as("the metadata key is rewrapped too").contains("\"kekId\" : \"" + rotated.id() + "\"");

        // with the retired key disabled, only re-wrapped keys open: all of them now
        LocalKeysetKek onlyNew = LocalKeysetKek.disableRetired(kekFile);
        for (Manifest m : List.of(a, b, c)) {
            assertThat(restore(onlyNew, m)).isEqualTo(data);
        }
    }

    @Test
    void withoutRewrap_disablingTheRetiredKey_makesOldBackupsUnreadable_withAClearError() {
        LocalKeysetKek first = LocalKeysetKek.create(kekFile);
        Manifest old = backup(first);
        LocalKeysetKek.rotate(kekFile);
        LocalKeysetKek onlyNew = LocalKeysetKek.disableRetired(kekFile);
        assertThatThrownBy(() -> restore(onlyNew, old))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("wrapped by " + first.id())
                .hasMessageContaining("cannot be unwrapped with key-encryption key " + onlyNew.id());
    }

    @Test
    void destroyingOneDataKey_cryptoErasesThatBackupOnly() {
        LocalKeysetKek kek = LocalKeysetKek.create(kekFile);
        Manifest erased = backup(kek);
        Manifest kept = backup(kek);
        Encryption.destroyDataKey(repo, erased.id());

        assertThatThrownBy(() -> restore(kek, erased))
                .isInstanceOf(BackupException.class)
                .satisfies(e -> assertThat(((BackupException) e).stage()).isEqualTo(Stage.KEY))
                .hasMessageContaining("crypto-erased");
        assertThat(restore(kek, kept)).isEqualTo(data);
    }

    @Test
    void kekToString_showsIdsButNoKeyMaterial() throws Exception {
        LocalKeysetKek kek = LocalKeysetKek.create(kekFile);
        String json = Files.readString(kekFile);
        String keyValue = json.replaceAll("(?s).*\"value\"\\s*:\\s*\"([^\"]+)\".*", "$1");
        assertThat(kek.toString()).contains(kek.id()).doesNotContain(keyValue);
        assertThat(Encryption.with(kek).toString()).doesNotContain(keyValue);
    }

    @Test
    void kekFile_isReadableByItsOwnerOnly() throws Exception {
        LocalKeysetKek.create(kekFile);
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(kekFile)))
                .isEqualTo("rw-------");
    }

    @Test
    void creatingOverAnExistingKekFile_isRefused() {
        LocalKeysetKek.create(kekFile);
        assertThatThrownBy(() -> LocalKeysetKek.create(kekFile))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already exists");
    }
}
