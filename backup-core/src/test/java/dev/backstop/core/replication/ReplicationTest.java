package dev.backstop.core.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.ObjectInfo;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.Sink;
import dev.backstop.core.Stage;
import dev.backstop.core.TestSources;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.internal.repo.ManifestFormat;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplicationTest {
    @TempDir
    Path tmp;
    private Repository primary;
    private Repository replica;
    private KeyEncryptionKey kek;
    private Replication replication;
    private byte[] data;

    @BeforeEach
    void setUp() {
        primary = Repository.filesystem(tmp.resolve("primary"));
        replica = Repository.filesystem(tmp.resolve("replica"));
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        replication = Replication.from(primary).to("eu", replica)
                .clock(Clock.fixed(Instant.parse("2026-11-21T04:00:00Z"), ZoneOffset.UTC)).build();
        data = TestSources.textLike(2_000_000, 7);
    }

    private Manifest backup(Repository repo) {
        return BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo)
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();
    }

    private byte[] restoreFrom(Repository repo, Manifest m) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Restore r = Restore.builder().repository(repo).keys(kek).build();
        r.copyTo(r.manifest(m.id()), m.objects().get(0).name(), out);
        return out.toByteArray();
    }

    private static byte[] bytesOf(Sink sink, String key) throws IOException {
        try (InputStream in = sink.open(key)) {
            return in.readAllBytes();
        }
    }

    @Test
    void copy_givesTheReplicaTheSameBackup_manifestBytesIdentical_andRestorable() throws Exception {
        Manifest m = backup(primary);

        Replication.Outcome o = replication.copy(m.id(), replication.replicas().get(0));

        assertThat(o.ok()).isTrue();
        assertThat(o.copied()).isEqualTo(1);
        assertThat(o.skipped()).isZero();
        assertThat(bytesOf(replica.sink(), Repository.manifestKey(m.id())))
                .isEqualTo(bytesOf(primary.sink(), Repository.manifestKey(m.id())));
        assertThat(restoreFrom(replica, m)).isEqualTo(data);
        assertThat(replication.verify(m.id()).get(0).findings()).isEmpty();
    }

    @Test
    void copy_afterAnInterruptedCopy_resumesAndSkipsObjectsAlreadyThere() throws Exception {
        Manifest m = backup(primary);
        StoredObject obj = m.objects().get(0);
        // an earlier run copied the data object, then died before the key and manifest
        try (Sink.Upload up = replica.sink().create(obj.key(), ObjectKind.DATA)) {
            try (OutputStream out = up.stream()) {
                out.write(bytesOf(primary.sink(), obj.key()));
            }
            up.commit();
        }
        assertThat(replica.catalog().list()).isEmpty();

        Replication.Outcome o = replication.copy(m.id()).get(0);

        assertThat(o.skipped()).isEqualTo(1);
        assertThat(o.copied()).isZero();
        assertThat(replica.catalog().get(m.id())).isPresent();
        assertThat(restoreFrom(replica, m)).isEqualTo(data);
    }

    @Test
    void copy_whenTheReplicaHoldsADifferentObject_failsNamingItAndWritesNoManifest() throws Exception {
        Manifest m = backup(primary);
        StoredObject obj = m.objects().get(0);
        try (Sink.Upload up = replica.sink().create(obj.key(), ObjectKind.DATA)) {
            up.stream().write(new byte[] {1, 2, 3});
            up.commit();
        }

        assertThatThrownBy(() -> replication.copy(m.id()))
                .isInstanceOf(IntegrityException.class).hasMessageContaining(obj.key()).hasMessageContaining("replica eu");

        assertThat(replica.catalog().get(m.id())).isEmpty();
        ValidationResult status = replication.status(m.id()).get("eu");
        assertThat(status.passed()).isFalse();
        assertThat(status.validator()).isEqualTo("replica:eu:copy");
    }

    @Test
    void copy_ofACorruptedPrimaryObject_doesNotPropagateIt() throws Exception {
        Manifest m = backup(primary);
        Path file = ((FileSystemSink) primary.sink()).pathOf(m.objects().get(0).key());
        byte[] stored = Files.readAllBytes(file);
        stored[stored.length / 2] ^= 0x40;
        Files.write(file, stored);

        assertThatThrownBy(() -> replication.copy(m.id())).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("SHA-256");

        assertThat(replica.sink().list("")).isEmpty();
    }

    @Test
    void verify_findsATamperedReplicaObject_andRecordsIt() throws Exception {
        Manifest m = backup(primary);
        replication.copy(m.id());
        Path file = ((FileSystemSink) replica.sink()).pathOf(m.objects().get(0).key());
        byte[] stored = Files.readAllBytes(file);
        stored[10] ^= 1;
        Files.write(file, stored);

        Replication.Outcome o = replication.verify(m.id()).get(0);

        assertThat(o.ok()).isFalse();
        assertThat(o.findings()).singleElement().asString().contains(m.objects().get(0).key(), "primary's manifest says");
        Map<String, ValidationResult> status = replication.status(m.id());
        assertThat(status.get("eu").validator()).isEqualTo("replica:eu:verify");
        assertThat(status.get("eu").passed()).isFalse();
    }

    @Test
    void copyAll_copiesOnlyBackupsTheReplicaLacks() {
        Manifest a = backup(primary);
        Manifest b = backup(primary);
        replication.copy(a.id());

        List<Replication.Outcome> done = replication.copyAll();

        assertThat(done).extracting(Replication.Outcome::backupId).containsExactly(b.id());
        assertThat(replication.copyAll()).isEmpty();
    }

    @Test
    void replicaRecords_doNotCountAsValidations() {
        Manifest m = backup(primary);
        replication.copy(m.id());
        assertThat(primary.validations(m.id())).isEmpty();
        assertThat(replication.status(m.id())).containsOnlyKeys("eu");
    }

    @Test
    void fanOut_writesTheBackupToPrimaryAndReplicaAsItIsTaken() throws Exception {
        FanOutSink fan = FanOutSink.of(primary.sink(), Map.of("eu", replica.sink()));
        Manifest m = backup(Repository.on(fan));

        assertThat(fan.lagging()).isEmpty();
        assertThat(bytesOf(replica.sink(), Repository.manifestKey(m.id())))
                .isEqualTo(bytesOf(primary.sink(), Repository.manifestKey(m.id())));
        assertThat(restoreFrom(replica, m)).isEqualTo(data);
        assertThat(replication.verify(m.id()).get(0).ok()).isTrue();
    }

    @Test
    void fanOut_whenTheReplicaFails_theBackupSucceeds_theReplicaShowsNothing_andCopyCatchesUp() throws Exception {
        Sink failing = new Sink() {
            @Override
            public Upload create(String key, ObjectKind kind) throws IOException {
                if (key.startsWith("backups/") && !key.endsWith("manifest.json")) {
                    throw new IOException("replica bucket unreachable");
                }
                return replica.sink().create(key, kind);
            }

            @Override
            public InputStream open(String key) throws IOException {
                return replica.sink().open(key);
            }

            @Override
            public List<ObjectInfo> list(String prefix) throws IOException {
                return replica.sink().list(prefix);
            }

            @Override
            public void delete(String key) throws IOException {
                replica.sink().delete(key);
            }
        };
        FanOutSink fan = FanOutSink.of(primary.sink(), Map.of("eu", failing));

        Manifest m = backup(Repository.on(fan));

        assertThat(primary.catalog().get(m.id())).isPresent();
        assertThat(replica.catalog().get(m.id())).as("no manifest for an incomplete replica").isEmpty();
        assertThat(fan.lagging()).containsExactly("eu/" + m.id().value());
        replication.copyAll();
        assertThat(restoreFrom(replica, m)).isEqualTo(data);
    }

    @Test
    void destroyDataKey_ofAReplicatedBackup_erasesItOnTheReplicaToo_soTheReplicaCannotRestoreIt() throws Exception {
        Manifest m = backup(primary);
        Manifest other = backup(primary);
        replication.copy(m.id());
        replication.copy(other.id());
        assertThat(restoreFrom(replica, m)).isEqualTo(data);

        assertThatThrownBy(() -> Encryption.destroyDataKey(primary, m.id()))
                .as("the primary alone would leave the replica's key").isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("[eu]").hasMessageContaining("destroyDataKey(replication, id)");
        Replication withoutEu = Replication.from(primary).to("us", Repository.filesystem(tmp.resolve("us"))).build();
        assertThatThrownBy(() -> Encryption.destroyDataKey(withoutEu, m.id()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("[eu]");
        assertThat(restoreFrom(replica, m)).as("a refused erase deletes nothing").isEqualTo(data);
        assertThat(restoreFrom(primary, m)).isEqualTo(data);

        assertThat(Encryption.destroyDataKey(replication, m.id())).containsExactly("eu");

        for (Repository repo : List.of(replica, primary)) {
            assertThatThrownBy(() -> restoreFrom(repo, m)).isInstanceOf(BackupException.class)
                    .satisfies(e -> assertThat(((BackupException) e).stage()).isEqualTo(Stage.KEY))
                    .hasMessageContaining("crypto-erased");
            assertThat(repo.sink().list(Repository.dataKeyObject(m.id()))).isEmpty();
            assertThat(repo.sink().list(m.objects().get(0).key())).as("the data stays, unreadable").hasSize(1);
            assertThat(restoreFrom(repo, other)).as("other backups keep their keys").isEqualTo(data);
        }
    }

    @Test
    void builder_rejectsThePrimaryAsItsOwnReplica_andDuplicateNames() {
        assertThatThrownBy(() -> Replication.from(primary).to("self", primary)).hasMessageContaining("primary repository itself");
        assertThatThrownBy(() -> Replication.from(primary).to("eu", replica).to("eu", replica)).hasMessageContaining("'eu'");
        assertThatThrownBy(() -> Replication.from(primary).build()).hasMessageContaining("at least one replica");
    }

    @Test
    void keyedReplication_refusesAForgedManifest_andForgedReplicaRecords_namingThem() throws Exception {
        Manifest m = backup(primary);
        Replication keyed = Replication.from(primary.withKeys(kek)).to("eu", replica).build();
        keyed.copy(m.id());
        assertThat(keyed.status(m.id())).containsKey("eu");
        assertThat(restoreFrom(replica, m)).isEqualTo(data);

        // a record copied from the primary's other backup, and a manifest forged without keys
        Manifest n = backup(primary);
        dev.backstop.core.fs.FileSystemSink sink = (dev.backstop.core.fs.FileSystemSink) primary.sink();
        java.nio.file.Path record = java.nio.file.Files.list(sink.pathOf("backups/" + m.id().value() + "/replicas"))
                .findFirst().orElseThrow();
        String forgedKey = "backups/" + n.id().value() + "/replicas/" + record.getFileName();
        java.nio.file.Files.createDirectories(sink.pathOf(forgedKey).getParent());
        java.nio.file.Files.writeString(sink.pathOf(forgedKey),
                java.nio.file.Files.readString(record).replace(m.id().value(), n.id().value()));
        assertThatThrownBy(() -> keyed.status(n.id())).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo(forgedKey));

        java.nio.file.Files.write(sink.pathOf(Repository.manifestKey(n.id())), ManifestFormat.write(
                n.toBuilder().labels(java.util.Map.of("forged", "yes")).build()));
        assertThatThrownBy(() -> keyed.copy(n.id())).isInstanceOfSatisfying(IntegrityException.class,
                e -> assertThat(e.key()).isEqualTo(Repository.manifestKey(n.id())));
        assertThat(replica.sink().list(Repository.manifestKey(n.id()))).isEmpty();
    }
}
