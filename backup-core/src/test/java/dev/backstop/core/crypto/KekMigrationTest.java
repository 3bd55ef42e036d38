package dev.backstop.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupId;
import dev.backstop.core.Repository;
import dev.backstop.core.TestSources;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.manifest.Manifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Moving a repository from one key-encryption key to another, end to end on a filesystem repository. */
class KekMigrationTest {
    static final byte[] CONTEXT = "wal/42".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path tmp;
    Repository repo;
    LocalKeysetKek oldKek;
    LocalKeysetKek newKek;
    byte[] data = TestSources.textLike(200_000, 7);

    @BeforeEach
    void setUp() {
        repo = Repository.filesystem(tmp.resolve("repo"));
        oldKek = LocalKeysetKek.create(tmp.resolve("old.json"));
        newKek = LocalKeysetKek.create(tmp.resolve("new.json"));
    }

    Manifest backup(KeyEncryptionKey kek) {
        return new EncryptedRoundTrip(repo, data).backup(kek);
    }

    byte[] restore(KeyEncryptionKey kek, Manifest m) {
        return new EncryptedRoundTrip(repo, data).restore(kek, m);
    }

    @Test
    void rewrapWithAMigratingKek_movesEveryStoredKeyToTheNewKek_soTheNewKekAloneOpensEverything() throws Exception {
        Manifest a = backup(oldKek);
        Manifest b = backup(oldKek);
        AeadTransform archiveKey = Encryption.with(oldKek).newArchiveKey(repo, "wal/42/k1", CONTEXT);
        Path dataFile = ((FileSystemSink) repo.sink()).pathOf(a.objects().get(0).key());
        byte[] before = Files.readAllBytes(dataFile);

        List<BackupId> moved = Encryption.with(KeyEncryptionKey.migrating(newKek, oldKek)).rewrap(repo);

        assertThat(moved).containsExactlyInAnyOrder(a.id(), b.id());
        assertThat(Encryption.with(KeyEncryptionKey.migrating(newKek, oldKek)).rewrap(repo)).as("idempotent").isEmpty();
        assertThat(Files.readAllBytes(dataFile)).as("data untouched").isEqualTo(before);
        assertThat(restore(newKek, a)).isEqualTo(data);
        assertThat(restore(newKek, b)).isEqualTo(data);
        assertThat(Encryption.with(newKek).unwrapArchiveKey(repo, "wal/42/k1", CONTEXT)).as("archive keys move too")
                .hasValueSatisfying(k -> assertThat(k).hasSize(32));
        assertThat(archiveKey).isNotNull();
        assertThat(Files.readString(((FileSystemSink) repo.sink()).pathOf(MetadataKey.OBJECT)))
                .as("the metadata key is wrapped by the new KEK").contains("\"kekId\" : \"" + newKek.id() + "\"");
        assertThatThrownBy(() -> restore(oldKek, a)).as("the old KEK no longer opens the repository")
                .isInstanceOf(BackupException.class);
    }

    @Test
    void aMigrationCutShort_opensWithTheMigratingKek_andFinishesWhenRunAgain() {
        Manifest a = backup(oldKek);
        Manifest b = backup(oldKek);
        Manifest c = backup(oldKek);
        KeyEncryptionKey failing = new FailingAfter(newKek, 2);

        assertThatThrownBy(() -> Encryption.with(KeyEncryptionKey.migrating(failing, oldKek)).rewrap(repo))
                .isInstanceOf(BackupException.class).hasMessageContaining("KMS unreachable");

        KeyEncryptionKey migrating = KeyEncryptionKey.migrating(newKek, oldKek);
        for (Manifest m : List.of(a, b, c)) {
            assertThat(restore(migrating, m)).as("mixed keys open with the migrating KEK").isEqualTo(data);
        }
        assertThat(Encryption.with(migrating).rewrap(repo)).isNotEmpty();
        for (Manifest m : List.of(a, b, c)) {
            assertThat(restore(newKek, m)).isEqualTo(data);
        }
    }

    @Test
    void anIoFailureOfTheNewKek_isThrown_neverAnsweredByTheOldOne() {
        KeyEncryptionKey down = new KeyEncryptionKey() {
            @Override
            public String id() {
                return "aws-kms:down";
            }

            @Override
            public byte[] wrap(byte[] dataKey, byte[] context) throws IOException {
                throw new IOException("KMS unreachable");
            }

            @Override
            public byte[] unwrap(byte[] wrapped, byte[] context) throws IOException {
                throw new IOException("KMS unreachable");
            }
        };
        assertThatThrownBy(() -> KeyEncryptionKey.migrating(down, oldKek).unwrap(new byte[48], CONTEXT))
                .isInstanceOf(IOException.class).hasMessage("KMS unreachable");
    }

    @Test
    void aKeyNeitherKekWrapped_failsNamingBoth() throws Exception {
        LocalKeysetKek third = LocalKeysetKek.create(tmp.resolve("third.json"));
        byte[] wrapped = third.wrap(new byte[32], CONTEXT);
        assertThatThrownBy(() -> KeyEncryptionKey.migrating(newKek, oldKek).unwrap(wrapped, CONTEXT))
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessageContaining("neither " + newKek.id() + " nor " + oldKek.id());
    }

    @Test
    void migratingToTheSameKek_isRefused_andToStringShowsIdsOnly() throws Exception {
        assertThatThrownBy(() -> KeyEncryptionKey.migrating(oldKek, oldKek)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the same key-encryption key");
        String json = Files.readString(tmp.resolve("old.json"));
        String keyValue = json.replaceAll("(?s).*\"value\"\\s*:\\s*\"([^\"]+)\".*", "$1");
        assertThat(KeyEncryptionKey.migrating(newKek, oldKek).toString()).contains(newKek.id(), oldKek.id())
                .doesNotContain(keyValue);
    }

    /** The new KEK of a migration that stops on an I/O failure after {@code wraps} successful wraps. */
    static final class FailingAfter implements KeyEncryptionKey {
        private final KeyEncryptionKey kek;
        private final AtomicInteger left;

        FailingAfter(KeyEncryptionKey kek, int wraps) {
            this.kek = kek;
            this.left = new AtomicInteger(wraps);
        }

        @Override
        public String id() {
            return kek.id();
        }

        @Override
        public byte[] wrap(byte[] dataKey, byte[] context) throws GeneralSecurityException, IOException {
            if (left.getAndDecrement() <= 0) {
                throw new IOException("KMS unreachable");
            }
            return kek.wrap(dataKey, context);
        }

        @Override
        public byte[] unwrap(byte[] wrapped, byte[] context) throws GeneralSecurityException, IOException {
            return kek.unwrap(wrapped, context);
        }
    }
}
