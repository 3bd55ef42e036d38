package dev.backstop.core.validate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.TestSources;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built-in validators check through a BackupReader and record nothing themselves. */
class ValidatorsTest {
    @TempDir
    Path dir;
    private Repository repo;
    private KeyEncryptionKey kek;
    private Manifest m;

    @BeforeEach
    void setUp() throws IOException {
        repo = Repository.filesystem(dir.resolve("repo"));
        kek = LocalKeysetKek.create(dir.resolve("kek.json"));
        m = BackupPipeline.builder().source(TestSources.bytes(TestSources.textLike(300_000, 5))).repository(repo)
                .random(new Random(5)).compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();
    }

    private void flipStoredByte(int pos) throws IOException {
        Path file = ((FileSystemSink) repo.sink()).pathOf(m.objects().get(0).key());
        byte[] b = Files.readAllBytes(file);
        b[pos] ^= 1;
        Files.write(file, b);
    }

    @Test
    void fullDecode_onAnIntactBackup_passesAndRecordsNothing() throws IOException {
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        ValidationResult r = Validators.fullDecode().validate(m, restore);

        assertThat(r.passed()).isTrue();
        assertThat(r.validator()).isEqualTo("full-decode");
        assertThat(r.measurements()).containsEntry("objects", "1")
                .containsEntry("storedBytesChecked", Long.toString(m.objects().get(0).storedSize()));
        assertThat(repo.validations(m.id())).isEmpty();
    }

    @Test
    void storedChecksums_withoutKeys_findsAFlippedByteNamingTheObject() throws IOException {
        flipStoredByte(100);
        Restore keyless = Restore.builder().repository(repo).build();

        ValidationResult r = Validators.storedChecksums().validate(m, keyless);

        assertThat(r.passed()).isFalse();
        assertThat(r.findings()).singleElement().asString().contains(m.objects().get(0).key()).contains("stored SHA-256");
        assertThat(repo.validations(m.id())).isEmpty();
    }

    @Test
    void fullDecode_withoutKeys_reportsTheMissingKeyAsAFinding() throws IOException {
        Restore keyless = Restore.builder().repository(repo).build();

        ValidationResult r = Validators.fullDecode().validate(m, keyless);

        assertThat(r.findings()).singleElement().asString().contains("without keys");
    }

    @Test
    void verify_runsTheSameCheckAsFullDecode_andRecordsIt() throws IOException {
        flipStoredByte(200);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        ValidationResult viaValidator = Validators.fullDecode().validate(m, restore);
        ValidationResult viaVerify = restore.verify(m);

        assertThat(viaVerify.findings()).isEqualTo(viaValidator.findings()).hasSize(1);
        assertThat(repo.withKeys(kek).validations(m.id())).extracting(ValidationResult::passed).containsExactly(false);
    }
}
