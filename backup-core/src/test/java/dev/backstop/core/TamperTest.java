package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every integrity claim, attacked: nothing tampered reaches the caller as good data. */
class TamperTest {
    @TempDir
    Path tmp;
    Repository repo;
    FileSystemSink sink;
    LocalKeysetKek kek;
    byte[] data = TestSources.textLike(2_500_000, 11);

    enum Chain { PLAIN, ZSTD, ZSTD_AEAD }

    @BeforeEach
    void setUp() {
        sink = FileSystemSink.open(tmp.resolve("repo"));
        repo = Repository.on(sink);
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
    }

    Manifest backup(Chain chain, byte[] payload) {
        BackupPipeline.Builder b = BackupPipeline.builder().source(TestSources.bytes(payload)).repository(repo);
        if (chain != Chain.PLAIN) {
            b.compress(ZstdTransform.level(3));
        }
        if (chain == Chain.ZSTD_AEAD) {
            b.encrypt(Encryption.with(kek));
        } else {
            b.noEncryption();
        }
        return b.build().run();
    }

    Restore restore() {
        return Restore.builder().repository(repo).keys(kek).allowUnencrypted().build();
    }

    Path file(Manifest m) {
        return sink.pathOf(m.objects().get(0).key());
    }

    /** Restoring to a file must fail with an IntegrityException and leave no target file. */
    IntegrityException restoreFails(Manifest m) {
        Path target = tmp.resolve("restored.bin");
        IntegrityException e = catchThrowableOfType(IntegrityException.class,
                () -> restore().toFile(restore().manifest(m.id()), "data", target));
        assertThat(e).as("restore of tampered backup must fail").isNotNull();
        assertThat(target).doesNotExist();
        assertThat(e.key()).isEqualTo(m.objects().get(0).key());
        assertThat(e.getMessage()).contains(m.objects().get(0).key()).contains("expected").contains("found");
        return e;
    }

    /** Reading to the end through open() must throw instead of returning end-of-stream. */
    void streamNeverEndsCleanly(Manifest m) throws IOException {
        try (InputStream in = restore().open(restore().manifest(m.id()), "data")) {
            assertThatThrownBy(() -> in.transferTo(OutputStream.nullOutputStream())).isInstanceOf(IntegrityException.class);
        }
    }

    @ParameterizedTest
    @EnumSource(Chain.class)
    void flippedByte_anywhere_isDetected(Chain chain) throws IOException {
        Manifest m = backup(chain, data);
        byte[] stored = Files.readAllBytes(file(m));
        for (int pos : new int[] {0, 1, stored.length / 3, stored.length / 2, stored.length - 2, stored.length - 1}) {
            byte[] copy = stored.clone();
            copy[pos] ^= 0x01;
            Files.write(file(m), copy);
            restoreFails(m);
            streamNeverEndsCleanly(m);
            assertThat(restore().verifyStored(m).passed()).as("keyless check at %d", pos).isFalse();
            assertThat(restore().verify(m).findings()).singleElement().asString().contains(m.objects().get(0).key());
        }
    }

    @ParameterizedTest
    @EnumSource(Chain.class)
    void truncatedObject_isDetected(Chain chain) throws IOException {
        Manifest m = backup(chain, data);
        byte[] stored = Files.readAllBytes(file(m));
        for (int cut : new int[] {1, 100, stored.length / 2, stored.length}) {
            Files.write(file(m), Arrays.copyOf(stored, stored.length - cut));
            restoreFails(m);
            streamNeverEndsCleanly(m);
        }
    }

    @ParameterizedTest
    @EnumSource(Chain.class)
    void appendedBytes_areDetected(Chain chain) throws IOException {
        Manifest m = backup(chain, data);
        byte[] stored = Files.readAllBytes(file(m));
        byte[] longer = Arrays.copyOf(stored, stored.length + 10);
        Files.write(file(m), longer);
        IntegrityException e = restoreFails(m);
        assertThat(e.getMessage()).containsAnyOf("size", "decoding", "SHA-256");
    }

    @Test
    void storedSizeMismatch_namesExpectedAndFoundSizes() throws IOException {
        Manifest m = backup(Chain.PLAIN, data);
        byte[] stored = Files.readAllBytes(file(m));
        Files.write(file(m), Arrays.copyOf(stored, stored.length - 5));
        IntegrityException e = restoreFails(m);
        assertThat(e.expected()).isEqualTo(stored.length + " bytes");
        assertThat(e.found()).isEqualTo((stored.length - 5) + " bytes");
    }

    @ParameterizedTest
    @EnumSource(Chain.class)
    void objectsSwappedBetweenTwoBackups_areDetected(Chain chain) throws IOException {
        Manifest a = backup(chain, data);
        Manifest b = backup(chain, TestSources.textLike(2_500_000, 12));
        byte[] aBytes = Files.readAllBytes(file(a));
        byte[] bBytes = Files.readAllBytes(file(b));
        Files.write(file(a), bBytes);
        Files.write(file(b), aBytes);
        restoreFails(a);
        restoreFails(b);
    }

    @Test
    void identicalPayloads_swapped_stillFailUnderEncryption() throws IOException {
        // same plaintext, so only the binding to the backup id can tell the copies apart
        Manifest a = backup(Chain.ZSTD_AEAD, data);
        Manifest b = backup(Chain.ZSTD_AEAD, data);
        Files.write(file(a), Files.readAllBytes(file(b)));
        restoreFails(a);
    }

    @Test
    void wrongKek_failsAtTheKeyStage_naming_bothKeys_andTheMetadataKeyItCouldNotOpen() {
        Manifest m = backup(Chain.ZSTD_AEAD, data);
        LocalKeysetKek other = LocalKeysetKek.create(tmp.resolve("other.json"));
        Restore r = Restore.builder().repository(repo).keys(other).build();
        assertThatThrownBy(() -> r.copyTo(m, "data", new ByteArrayOutputStream()))
                .isInstanceOf(BackupException.class)
                .satisfies(e -> assertThat(((BackupException) e).stage()).isEqualTo(Stage.KEY))
                .hasMessageContaining(kek.id())
                .hasMessageContaining(other.id())
                .hasMessageContaining(MetadataKey.OBJECT);
    }

    @Test
    void missingKek_saysTheBackupIsEncrypted() {
        Manifest m = backup(Chain.ZSTD_AEAD, data);
        Restore r = Restore.builder().repository(repo).build();
        assertThatThrownBy(() -> r.copyTo(m, "data", new ByteArrayOutputStream()))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("is encrypted")
                .hasMessageContaining(kek.id());
        assertThat(r.verifyStored(m).passed()).as("keyless verification needs no key").isTrue();
    }

    @Test
    void dataKeySwappedBetweenBackups_isRejectedAsUnauthenticated_namingTheKeyObject() throws IOException {
        Manifest a = backup(Chain.ZSTD_AEAD, data);
        Manifest b = backup(Chain.ZSTD_AEAD, data);
        Path ka = sink.pathOf(Repository.dataKeyObject(a.id()));
        String bKey = Files.readString(sink.pathOf(Repository.dataKeyObject(b.id())));
        Files.writeString(ka, bKey);
        assertThatThrownBy(() -> restore().copyTo(a, "data", new ByteArrayOutputStream()))
                .isInstanceOfSatisfying(IntegrityException.class,
                        e -> assertThat(e.key()).isEqualTo(Repository.dataKeyObject(a.id())))
                .hasMessageContaining("metadata authentication");
        // the owner field edited to match: the tag still names the record's true location
        Files.writeString(ka, bKey.replace(b.id().value(), a.id().value()));
        assertThatThrownBy(() -> restore().copyTo(a, "data", new ByteArrayOutputStream()))
                .isInstanceOfSatisfying(IntegrityException.class,
                        e -> assertThat(e.key()).isEqualTo(Repository.dataKeyObject(a.id())));
    }

    @Test
    void editedManifest_isRejectedBeforeAnyDataIsRead() throws IOException {
        Manifest m = backup(Chain.ZSTD_AEAD, data);
        Path mf = sink.pathOf(Repository.manifestKey(m.id()));
        String text = Files.readString(mf, StandardCharsets.UTF_8);
        Files.writeString(mf, text.replace("\"plaintextSize\" : " + data.length, "\"plaintextSize\" : " + (data.length - 1)));
        assertThatThrownBy(() -> restore().manifest(m.id()))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining(Repository.manifestKey(m.id()))
                .hasMessageContaining("manifest was edited");
    }

    @Test
    void truncatedManifest_isRejected() throws IOException {
        Manifest m = backup(Chain.PLAIN, data);
        Path mf = sink.pathOf(Repository.manifestKey(m.id()));
        byte[] bytes = Files.readAllBytes(mf);
        Files.write(mf, Arrays.copyOf(bytes, bytes.length - 40));
        assertThatThrownBy(() -> restore().manifest(m.id()))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("truncated or edited");
    }

    @Test
    void missingDataObject_isAStorageErrorNamingTheKey() throws IOException {
        Manifest m = backup(Chain.ZSTD, data);
        Files.delete(file(m));
        assertThatThrownBy(() -> restore().copyTo(m, "data", new ByteArrayOutputStream()))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining(m.objects().get(0).key())
                .hasMessageContaining("missing");
    }
}
