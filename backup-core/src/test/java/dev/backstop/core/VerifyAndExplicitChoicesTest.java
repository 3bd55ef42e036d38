package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The keyed check records what it found; the keyless one only reports; failures can be thrown. */
class VerifyAndExplicitChoicesTest {
    @TempDir
    Path tmp;
    FileSystemSink sink;
    Repository repo;
    LocalKeysetKek kek;
    Restore restore;

    @BeforeEach
    void setUp() {
        sink = FileSystemSink.open(tmp.resolve("repo"));
        repo = Repository.on(sink);
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        restore = Restore.builder().repository(repo).keys(kek).build();
    }

    Manifest backup() {
        return BackupPipeline.builder().source(TestSources.bytes(TestSources.textLike(100_000, 3))).repository(repo)
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();
    }

    @Test
    void verify_recordsItsPassedResult_soTheBackupCountsAsVerified() {
        Manifest m = backup();
        ValidationResult r = restore.verify(m);
        assertThat(r.passed()).isTrue();
        assertThat(repo.validations(m.id())).singleElement().satisfies(v -> {
            assertThat(v.validator()).isEqualTo("full-decode");
            assertThat(v.passed()).isTrue();
        });
    }

    @Test
    void verify_ofATamperedBackup_recordsTheFailureNamingTheObject() throws IOException {
        Manifest m = backup();
        Path stored = sink.pathOf(m.objects().get(0).key());
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(stored, bytes);

        ValidationResult r = restore.verify(m);

        assertThat(r.passed()).isFalse();
        assertThat(repo.validations(m.id())).singleElement().satisfies(v -> {
            assertThat(v.passed()).isFalse();
            assertThat(v.findings()).singleElement().asString().contains(m.objects().get(0).key());
        });
    }

    @Test
    void verifyWithRecordingNone_andVerifyStored_writeNothingToTheRepository() {
        Manifest m = backup();
        assertThat(restore.verify(m, Restore.Recording.NONE).passed()).isTrue();
        assertThat(restore.verifyStored(m).passed()).isTrue();
        assertThat(repo.validations(m.id())).isEmpty();
    }

    @Test
    void orThrow_ofAPassedResult_returnsIt() {
        ValidationResult ok = new ValidationResult(BackupId.parse("20260101T000000Z-logical-abcdef"), "full-decode", Instant.EPOCH,
                Duration.ZERO, List.of(), Map.of());
        assertThat(ok.orThrow()).isSameAs(ok);
    }

    @Test
    void orThrow_ofAFailedResult_throwsWithTheBackup_andAMessageNamingTheValidatorAndEveryFinding() {
        BackupId id = BackupId.parse("20260101T000000Z-logical-abcdef");
        ValidationResult bad = new ValidationResult(id, "postgres-restore-drill", Instant.EPOCH, Duration.ZERO,
                List.of("table orders: 3 rows, expected 4", "amcheck: index orders_pkey corrupt"), Map.of());

        ValidationFailedException e = catchThrowableOfType(ValidationFailedException.class, bad::orThrow);

        assertThat(e).isInstanceOf(BackupException.class);
        assertThat(e.stage()).isEqualTo(Stage.VERIFY);
        assertThat(e.retryable()).isFalse();
        assertThat(e.backupId()).contains(id);
        assertThat(e.result()).isSameAs(bad);
        assertThat(e.getMessage()).isEqualTo("validation by postgres-restore-drill failed: table orders: 3 rows, expected 4; "
                + "amcheck: index orders_pkey corrupt");
    }

    @Test
    void loadOfAMissingKekFile_failsNamingThePathAndCreate_andCreatesNothing() {
        Path typo = tmp.resolve("kek.jsn");
        assertThatThrownBy(() -> LocalKeysetKek.load(typo))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining(typo.toAbsolutePath().toString())
                .hasMessageContaining("does not exist")
                .hasMessageContaining("LocalKeysetKek.create(path)");
        assertThat(typo).doesNotExist();
    }

    @Test
    void createThenLoad_giveTheSameKek() {
        Path file = tmp.resolve("other-kek.json");
        LocalKeysetKek created = LocalKeysetKek.create(file);
        assertThat(LocalKeysetKek.load(file).id()).isEqualTo(created.id());
        assertThatThrownBy(() -> LocalKeysetKek.create(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("already exists");
    }
}
