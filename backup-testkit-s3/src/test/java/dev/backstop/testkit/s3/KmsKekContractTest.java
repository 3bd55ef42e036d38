package dev.backstop.testkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.Repository;
import dev.backstop.core.Stage;
import dev.backstop.core.source.FileSource;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.s3.KmsKek;
import dev.backstop.testkit.contract.KeyEncryptionKeyContract;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.services.kms.KmsClient;

/** AWS KMS as KEK, through the real SDK v2 {@link KmsClient}, against {@link LocalKms}. */
class KmsKekContractTest extends KeyEncryptionKeyContract {
    private static final LocalKms KMS = LocalKms.start();
    private static final KmsClient CLIENT = KMS.clientBuilder()
            .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("kms-access", "kms-secret-value")))
            .build();
    private String keyArn;

    @AfterAll
    static void stop() {
        CLIENT.close();
        KMS.close();
    }

    @Override
    protected KeyEncryptionKey newKek() {
        keyArn = KMS.createKey();
        return KmsKek.of(CLIENT, keyArn);
    }

    @Override
    protected KeyEncryptionKey newOtherKek() {
        return KmsKek.of(CLIENT, KMS.createKey());
    }

    @Override
    protected Collection<String> secrets() {
        byte[] m = KMS.material(keyArn);
        return List.of(Base64.getEncoder().encodeToString(m), HexFormat.of().formatHex(m), "kms-secret-value");
    }

    @Test
    void id_namesTheKmsKey() {
        assertThat(kek.id()).isEqualTo("aws-kms:" + keyArn);
    }

    @Test
    void backupWhoseKmsKeyIsMissing_failsAtTheKeyStage_andLeavesNothingInTheRepository(@TempDir Path dir)
            throws IOException {
        Path data = dir.resolve("data.bin");
        Files.write(data, new byte[3 * 1024 * 1024]);
        Repository repo = Repository.filesystem(dir.resolve("repo"));
        BackupPipeline pipeline = BackupPipeline.builder().source(FileSource.of(data))
                .compress(ZstdTransform.builder().level(3).build())
                .encrypt(Encryption.with(KmsKek.of(CLIENT, "arn:aws:kms:us-east-1:111122223333:key/missing")))
                .repository(repo).build();

        assertThatThrownBy(pipeline::run).isInstanceOfSatisfying(BackupException.class, e -> {
            assertThat(e.stage()).isEqualTo(Stage.KEY);
            assertThat(e.getMessage()).contains("key/missing").contains("NotFoundException");
        });
        assertThat(repo.catalog().list()).isEmpty();
        try (Stream<Path> files = Files.walk(dir.resolve("repo"))) {
            assertThat(files.filter(Files::isRegularFile).map(p -> dir.resolve("repo").relativize(p).toString()))
                    .as("no object, key or manifest").allMatch(p -> p.startsWith("locks/") || p.startsWith("."));
        }
    }

    @Test
    void unknownKey_failsWithAnIOExceptionNamingIt() {
        KmsKek missing = KmsKek.of(CLIENT, "arn:aws:kms:us-east-1:111122223333:key/missing");
        assertThatThrownBy(() -> missing.wrap(new byte[32], new byte[] {1}))
                .isInstanceOf(IOException.class).hasMessageContaining("key/missing").hasMessageContaining("NotFoundException");
    }

    @Test
    void disabledKey_failsBothWays_andWorksAgainOnceEnabled() throws Exception {
        byte[] wrapped = kek.wrap(new byte[32], new byte[] {7});
        KMS.disableKey(keyArn);
        try {
            assertThatThrownBy(() -> kek.wrap(new byte[32], new byte[] {7})).isInstanceOf(IOException.class)
                    .hasMessageContaining("DisabledException");
            assertThatThrownBy(() -> kek.unwrap(wrapped, new byte[] {7})).isInstanceOf(IOException.class)
                    .hasMessageContaining("DisabledException");
        } finally {
            KMS.enableKey(keyArn);
        }
        assertThat(kek.unwrap(wrapped, new byte[] {7})).isEqualTo(new byte[32]);
    }

    @Test
    void theKeyIdAndTheArn_nameTheSameKey() throws Exception {
        String keyId = keyArn.substring(keyArn.lastIndexOf('/') + 1);
        byte[] wrapped = kek.wrap(new byte[] {1, 2, 3}, new byte[] {9});
        assertThat(KmsKek.of(CLIENT, keyId).unwrap(wrapped, new byte[] {9})).containsExactly(1, 2, 3);
    }

    @Test
    void aStoppedKms_failsWithAnIOExceptionNamingTheKey() {
        LocalKms stopped = LocalKms.start();
        String arn = stopped.createKey();
        stopped.close();
        try (KmsClient client = stopped.clientBuilder().build()) {
            assertThatThrownBy(() -> KmsKek.of(client, arn).wrap(new byte[32], new byte[] {1}))
                    .isInstanceOf(IOException.class).hasMessageContaining(arn);
        }
    }

    @Test
    void rotationOnDemand_givesNewMaterial_andWhatTheOldWrappedStillUnwraps() throws Exception {
        byte[] before = kek.wrap(new byte[] {4, 5, 6}, new byte[] {2});
        byte[] oldMaterial = KMS.material(keyArn);

        CLIENT.rotateKeyOnDemand(b -> b.keyId(keyArn));

        assertThat(KMS.material(keyArn)).isNotEqualTo(oldMaterial);
        byte[] after = kek.wrap(new byte[] {7, 8, 9}, new byte[] {2});
        assertThat(kek.unwrap(before, new byte[] {2})).containsExactly(4, 5, 6);
        assertThat(kek.unwrap(after, new byte[] {2})).containsExactly(7, 8, 9);
        assertThat(kek.id()).isEqualTo("aws-kms:" + keyArn);
    }
}
