package dev.backstop.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.crypto.MetadataKey;
import dev.backstop.core.fs.FileSystemSink;
import dev.backstop.core.internal.crypto.Sealed;
import dev.backstop.core.internal.repo.ManifestFormat;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.transform.ZstdTransform;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacks by someone who can write to the repository but holds no key: manifests moved, copied,
 * downgraded or edited with their checksum recomputed, forged validation records. A keyed reader
 * refuses each with an {@link IntegrityException} naming the object.
 */
class AuthenticatedMetadataTest {
    @TempDir
    Path tmp;
    FileSystemSink sink;
    Repository repo;
    LocalKeysetKek kek;
    byte[] data = TestSources.textLike(200_000, 3);

    @BeforeEach
    void setUp() {
        sink = FileSystemSink.open(tmp.resolve("repo"));
        repo = Repository.on(sink);
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
    }

    Manifest encrypted() {
        return BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo)
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).build().run();
    }

    Manifest unencrypted() {
        return BackupPipeline.builder().source(TestSources.bytes(data)).repository(repo).noEncryption().build().run();
    }

    Restore keyed() {
        return Restore.builder().repository(repo).keys(kek).build();
    }

    Path manifestFile(Manifest m) {
        return sink.pathOf(Repository.manifestKey(m.id()));
    }

    static void refusedNaming(Runnable r, String key) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(IntegrityException.class, e -> {
            assertThat(e.key()).isEqualTo(key);
            assertThat(e.getMessage()).contains(key);
        });
    }

    @Test
    void manifestCopiedOverAnother_isRefusedByManifestToFileAndVerify_andListedOnce() throws IOException {
        Manifest a = encrypted();
        Manifest b = encrypted();
        Files.copy(manifestFile(a), manifestFile(b), StandardCopyOption.REPLACE_EXISTING);
        String bKey = Repository.manifestKey(b.id());

        refusedNaming(() -> keyed().manifest(b.id()), bKey);
        refusedNaming(() -> keyed().toFile(b, "data", tmp.resolve("out")), bKey);
        refusedNaming(() -> keyed().verify(b), bKey);
        refusedNaming(() -> keyed().verifyStored(b), bKey);
        refusedNaming(() -> Restore.builder().repository(repo).build().manifest(b.id()), bKey);
        assertThat(tmp.resolve("out")).doesNotExist();

        assertThat(repo.catalog().list()).extracting(Manifest::id).containsExactly(a.id());
        assertThat(repo.withKeys(kek).catalog().list()).extracting(Manifest::id).containsExactly(a.id());
        assertThat(repo.damaged()).singleElement().satisfies(d -> {
            assertThat(d.key()).isEqualTo(bKey);
            assertThat(d.reason()).contains("manifest location").contains(a.id().value());
        });
    }

    @Test
    void manifestMovedOverAnother_isRefused_andOrphansSparesTheDataItStillNames() throws IOException {
        Manifest a = encrypted();
        Manifest b = encrypted();
        Files.move(manifestFile(a), manifestFile(b), StandardCopyOption.REPLACE_EXISTING);

        refusedNaming(() -> keyed().manifest(b.id()), Repository.manifestKey(b.id()));
        assertThat(repo.catalog().list()).isEmpty();
        assertThat(repo.damaged()).extracting(DamagedObject::key).containsExactly(Repository.manifestKey(b.id()));

        Instant later = Instant.now().plus(Duration.ofDays(1));
        assertThat(repo.orphans(later, Duration.ofHours(1)).objects()).extracting(ObjectInfo::key)
                .doesNotContain(a.objects().get(0).key(), Repository.dataKeyObject(a.id()), b.objects().get(0).key(),
                        Repository.dataKeyObject(b.id()), MetadataKey.OBJECT);
        repo.removeOrphans(later, Duration.ofHours(1));
        assertThat(sink.pathOf(a.objects().get(0).key())).exists();
        assertThat(sink.pathOf(Repository.dataKeyObject(a.id()))).exists();
    }

    @Test
    void downgradedManifest_unencryptedWithChecksumRecomputed_isRefusedByAKeyedRestore() throws IOException {
        Manifest b = encrypted();
        byte[] evil = "attacker's bytes".getBytes(StandardCharsets.UTF_8);
        StoredObject o = b.objects().get(0);
        Files.write(sink.pathOf(o.key()), evil);
        Manifest.Builder forged = Manifest.builder(b.id()).startedAt(b.startedAt()).finishedAt(b.finishedAt())
                .source(b.source()).consistency(b.consistency());
        forged.addObject(new StoredObject(o.name(), o.key(), evil.length, Digest.sha256(evil), evil.length,
                Digest.sha256(evil), List.of()));
        Files.write(manifestFile(b), ManifestFormat.write(forged.build()));
        Files.delete(sink.pathOf(Repository.dataKeyObject(b.id())));
        String key = Repository.manifestKey(b.id());

        refusedNaming(() -> keyed().manifest(b.id()), key);
        refusedNaming(() -> keyed().copyTo(b, "data", new ByteArrayOutputStream()), key);
        // without keys the repository's metadata key record still gives the downgrade away
        Restore keyless = Restore.builder().repository(repo).build();
        refusedNaming(() -> keyless.manifest(b.id()), key);
        assertThatThrownBy(() -> keyed().manifest(b.id())).hasMessageContaining("without encryption");
        assertThat(repo.withKeys(kek).damaged()).extracting(DamagedObject::key).containsExactly(key);
    }

    @Test
    void anyFieldEdited_withChecksumRecomputed_isRefused_withOrWithoutTheOldTag() throws IOException {
        Manifest m = encrypted();
        Path file = manifestFile(m);
        byte[] original = Files.readAllBytes(file);
        String trailer = tagTrailer(new String(original, StandardCharsets.UTF_8));
        List<UnaryOperator<Manifest.Builder>> edits = List.of(
                x -> x.startedAt(m.startedAt().minus(Duration.ofDays(400))).finishedAt(m.finishedAt().minus(Duration.ofDays(400))),
                x -> x.parent(BackupId.generate(m.startedAt(), BackupType.RAW, new java.util.Random(1))),
                x -> x.consistency(ConsistencyPoint.of(Map.of("lsn", "0/DEADBEEF"))),
                x -> x.fingerprints(new Fingerprints("forged", Map.of("t", new TableFingerprint(1, "00")))),
                x -> x.labels(Map.of("env", "prod")));
        for (UnaryOperator<Manifest.Builder> edit : edits) {
            byte[] rechecked = ManifestFormat.write(edit.apply(m.toBuilder()).build());
            String text = new String(rechecked, StandardCharsets.UTF_8);
            Files.writeString(file, text.substring(0, text.length() - 3) + trailer);
            refusedNaming(() -> keyed().manifest(m.id()), Repository.manifestKey(m.id()));
            assertThatThrownBy(() -> keyed().manifest(m.id())).hasMessageContaining("does not match");
            Files.write(file, rechecked);
            refusedNaming(() -> keyed().manifest(m.id()), Repository.manifestKey(m.id()));
        }
        Files.write(file, original);
        assertThat(keyed().manifest(m.id())).isEqualTo(m);
    }

    @Test
    void forgedPassedValidationRecord_isRefused_andKeylessChecksNeverMakeABackupVerified() throws IOException {
        Manifest a = encrypted();
        Manifest b = encrypted();
        Restore restore = keyed();
        restore.repository().recordValidation(restore.verifyStored(a));
        assertThat(restore.repository().latestValidation(a.id())).as("a keyless check does not verify").isEmpty();
        assertThat(repo.latestValidation(a.id())).as("nor does it for a keyless reader").isEmpty();

        restore.verify(b);
        assertThat(restore.repository().latestValidation(b.id())).hasValueSatisfying(r -> assertThat(r.passed()).isTrue());

        // the attacker copies b's authenticated "passed" record to a
        Path bRecord = Files.list(sink.pathOf("backups/" + b.id().value() + "/validations")).findFirst().orElseThrow();
        String forgedKey = "backups/" + a.id().value() + "/validations/29991231T000000.000Z-full-decode.json";
        Files.writeString(sink.pathOf(forgedKey), Files.readString(bRecord).replace(b.id().value(), a.id().value()));
        refusedNaming(() -> restore.repository().validations(a.id()), forgedKey);
        refusedNaming(() -> restore.repository().latestValidation(a.id()), forgedKey);
    }

    @Test
    void listing_withAnEmptyAnInvalidAndAStrayManifest_listsTheGoodOnes_andNamesEachBadOne() throws IOException {
        Manifest a = encrypted();
        Manifest b = encrypted();
        Manifest c = encrypted();
        Files.write(manifestFile(b), new byte[0]);
        Files.writeString(manifestFile(c), "{ not json");
        Files.writeString(sink.pathOf("backups/manifest.json"), "{}");

        assertThat(repo.catalog().list()).extracting(Manifest::id).containsExactly(a.id());
        assertThat(repo.withKeys(kek).catalog().list()).extracting(Manifest::id).containsExactly(a.id());
        assertThat(repo.damaged()).extracting(DamagedObject::key).containsExactlyInAnyOrder("backups/manifest.json",
                Repository.manifestKey(b.id()), Repository.manifestKey(c.id()));
        assertThat(repo.damaged()).filteredOn(d -> d.key().equals(Repository.manifestKey(b.id())))
                .singleElement().satisfies(d -> assertThat(d.reason()).contains("empty"));
        assertThat(keyed().latest().id()).isEqualTo(a.id());

        Instant later = Instant.now().plus(Duration.ofDays(1));
        assertThat(repo.orphans(later, Duration.ofHours(1)).objects()).extracting(ObjectInfo::key)
                .noneMatch(k -> k.contains(b.id().value()) || k.contains(c.id().value()));
    }

    @Test
    void unencryptedBackup_inARepositoryWrittenWithKeys_needsAllowUnencrypted() {
        encrypted();
        Manifest plain = unencrypted();
        String key = Repository.manifestKey(plain.id());
        refusedNaming(() -> Restore.builder().repository(repo).build().manifest(plain.id()), key);
        refusedNaming(() -> keyed().manifest(plain.id()), key);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Restore.builder().repository(repo).allowUnencrypted().build().copyTo(plain, "data", out);
        assertThat(out.toByteArray()).isEqualTo(data);
        assertThat(Restore.builder().repository(repo).keys(kek).allowUnencrypted().build().verify(plain).passed()).isTrue();
    }

    @Test
    void repositoryWrittenBeforeAuthentication_isRefusedNamingItsFormat_untilAKekHolderUpgradesIt() throws IOException {
        Manifest old = encrypted();
        Manifest tampered = encrypted();
        makeFormatOne(old);
        makeFormatOne(tampered);
        Files.delete(sink.pathOf(MetadataKey.OBJECT));
        byte[] bytes = Files.readAllBytes(sink.pathOf(tampered.objects().get(0).key()));
        bytes[bytes.length / 2] ^= 1;
        Files.write(sink.pathOf(tampered.objects().get(0).key()), bytes);

        assertThatThrownBy(() -> keyed().manifest(old.id())).isInstanceOf(IntegrityException.class)
                .hasMessageContaining("Encryption.upgrade");
        Encryption.Upgrade done = Encryption.with(kek).upgrade(repo);
        assertThat(done.authenticated()).containsExactly(old.id());
        assertThat(done.refused()).extracting(DamagedObject::key).containsExactly(Repository.manifestKey(tampered.id()));

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        keyed().copyTo(keyed().manifest(old.id()), "data", out);
        assertThat(out.toByteArray()).isEqualTo(data);
        assertThat(repo.withKeys(kek).latestValidation(old.id())).hasValueSatisfying(r -> assertThat(r.passed()).isTrue());
        refusedNaming(() -> keyed().manifest(tampered.id()), Repository.manifestKey(tampered.id()));
        assertThat(Encryption.with(kek).upgrade(repo).authenticated()).as("idempotent").isEmpty();
    }

    /** Rewrites a backup's manifest and key record as a format-1 writer stored them: no tags. */
    void makeFormatOne(Manifest m) throws IOException {
        Path file = manifestFile(m);
        String text = new String(Sealed.unseal(Files.readAllBytes(file)).content(), StandardCharsets.UTF_8)
                .replace("\"formatVersion\" : 2", "\"formatVersion\" : 1");
        Files.writeString(file, rechecksum(text));
        Path key = sink.pathOf(Repository.dataKeyObject(m.id()));
        Files.write(key, Sealed.unseal(Files.readAllBytes(key)).content());
    }

    static String rechecksum(String text) {
        Matcher m = Pattern.compile(",\n  \"manifestSha256\" : \"[0-9a-f]{64}\"\n}\n\\z").matcher(text);
        assertThat(m.find()).isTrue();
        String body = text.substring(0, m.start()) + "\n}";
        return text.substring(0, m.start()) + ",\n  \"manifestSha256\" : \""
                + Digest.sha256(body.getBytes(StandardCharsets.UTF_8)).hex() + "\"\n}\n";
    }

    static String tagTrailer(String text) {
        int at = text.lastIndexOf(",\n  \"authentication\"");
        assertThat(at).isPositive();
        return text.substring(at);
    }
}
