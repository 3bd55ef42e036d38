package dev.backstop.testkit.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupId;
import dev.backstop.core.BackupType;
import dev.backstop.core.DamagedObject;
import dev.backstop.core.Digest;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.IntegrityException;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.ObjectExistsException;
import dev.backstop.core.ObjectKind;
import dev.backstop.core.Repository;
import dev.backstop.core.SourceInfo;
import dev.backstop.core.manifest.StoredObject;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.Sink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour of a repository's catalog. Extend it and implement {@link #newRepository()} with
 * a fresh, empty repository per test.
 */
public abstract class CatalogContract {
    protected Repository repo;

    protected abstract Repository newRepository() throws Exception;

    @BeforeEach
    void createRepository() throws Exception {
        repo = newRepository();
    }

    protected static Manifest manifest(String stamp, long seed) {
        Random r = new Random(seed);
        BackupId id = BackupId.generate(Instant.parse(stamp), BackupType.LOGICAL, r);
        byte[] digest = new byte[32];
        r.nextBytes(digest);
        return Manifest.builder(id)
                .startedAt(Instant.parse(stamp))
                .finishedAt(Instant.parse(stamp).plusSeconds(42))
                .source(new SourceInfo("postgresql", "15.19", Map.of("database", "shop")))
                .fingerprints(new Fingerprints("abc", Map.of("public.orders", new TableFingerprint(10, "h1"))))
                .addObject(new StoredObject("dump", Repository.dataKey(id, "dump"), 1000, Digest.of(digest), 400,
                        Digest.of(digest), List.of()))
                .labels(Map.of("env", "test"))
                .build();
    }

    @Test
    void put_thenGet_returnsAnEqualManifest() throws IOException {
        Manifest m = manifest("2026-11-20T03:00:00Z", 1);
        repo.catalog().put(m);
        Manifest back = repo.catalog().get(m.id()).orElseThrow();
        assertThat(back).isEqualTo(m);
        assertThat(back.fingerprints()).isEqualTo(m.fingerprints());
        assertThat(back.objects()).isEqualTo(m.objects());
    }

    @Test
    void put_sameIdTwice_isRefused_andTheFirstStays() throws IOException {
        Manifest m = manifest("2026-11-20T03:00:00Z", 2);
        repo.catalog().put(m);
        Manifest other = m.toBuilder().labels(Map.of("env", "other")).build();
        assertThatThrownBy(() -> repo.catalog().put(other)).isInstanceOf(ObjectExistsException.class);
        assertThat(repo.catalog().get(m.id()).orElseThrow().labels()).containsEntry("env", "test");
    }

    @Test
    void list_isOldestFirst() throws IOException {
        Manifest c = manifest("2026-11-22T03:00:00Z", 3);
        Manifest a = manifest("2026-11-20T03:00:00Z", 4);
        Manifest b = manifest("2026-11-21T03:00:00Z", 5);
        for (Manifest m : List.of(c, a, b)) {
            repo.catalog().put(m);
        }
        assertThat(repo.catalog().list()).extracting(Manifest::id).containsExactly(a.id(), b.id(), c.id());
    }

    @Test
    void get_ofAMissingBackup_isEmpty() throws IOException {
        assertThat(repo.catalog().get(manifest("2026-11-20T03:00:00Z", 6).id())).isEmpty();
    }

    @Test
    void delete_forgetsTheBackup_andItsObjects() throws IOException {
        Manifest m = manifest("2026-11-20T03:00:00Z", 7);
        writeObject(repo.sink(), m.objects().get(0).key(), "data");
        repo.catalog().put(m);
        repo.catalog().delete(m.id());
        assertThat(repo.catalog().get(m.id())).isEmpty();
        assertThat(repo.catalog().list()).isEmpty();
        assertThat(repo.sink().list("backups/")).isEmpty();
    }

    @Test
    void editedManifest_isRejectedWithTheObjectNamed() throws IOException {
        Manifest m = manifest("2026-11-20T03:00:00Z", 8);
        repo.catalog().put(m);
        String key = Repository.manifestKey(m.id());
        String text;
        try (InputStream in = repo.sink().open(key)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        repo.sink().delete(key);
        writeObject(repo.sink(), key, text.replace("\"rows\" : 10", "\"rows\" : 11"));
        assertThatThrownBy(() -> repo.catalog().get(m.id()))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining(key)
                .hasMessageContaining("manifest checksum");
    }

    @Test
    void list_withAnEmptyAnInvalidAndAStrayManifest_listsTheOthers_andNamesEachBadOne() throws IOException {
        Manifest good = manifest("2026-11-20T03:00:00Z", 9);
        Manifest empty = manifest("2026-11-21T03:00:00Z", 10);
        Manifest invalid = manifest("2026-11-22T03:00:00Z", 11);
        repo.catalog().put(good);
        writeObject(repo.sink(), Repository.manifestKey(empty.id()), "");
        writeObject(repo.sink(), Repository.manifestKey(invalid.id()), "{ not json");
        writeObject(repo.sink(), "backups/manifest.json", "{}");

        assertThat(repo.catalog().list()).extracting(Manifest::id).containsExactly(good.id());
        assertThat(repo.damaged()).extracting(DamagedObject::key).containsExactlyInAnyOrder("backups/manifest.json",
                Repository.manifestKey(empty.id()), Repository.manifestKey(invalid.id()));
        assertThat(repo.damaged()).allSatisfy(d -> assertThat(d.reason()).isNotBlank());
    }

    @Test
    void manifestCopiedUnderAnotherId_isRefusedByGet_listedOnce_andReported() throws IOException {
        Manifest a = manifest("2026-11-20T03:00:00Z", 12);
        Manifest b = manifest("2026-11-21T03:00:00Z", 13);
        repo.catalog().put(a);
        String text;
        try (InputStream in = repo.sink().open(Repository.manifestKey(a.id()))) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        writeObject(repo.sink(), Repository.manifestKey(b.id()), text);

        assertThatThrownBy(() -> repo.catalog().get(b.id())).isInstanceOf(IntegrityException.class)
                .hasMessageContaining(Repository.manifestKey(b.id())).hasMessageContaining("manifest location");
        assertThat(repo.catalog().list()).extracting(Manifest::id).containsExactly(a.id());
        assertThat(repo.damaged()).extracting(DamagedObject::key).containsExactly(Repository.manifestKey(b.id()));
    }

    @Test
    void keyedView_authenticatesWhatItWrites_andRefusesWhatWasWrittenWithoutKeys() throws Exception {
        KeyEncryptionKey kek = LocalKeysetKek.create(Files.createTempDirectory("catalog-contract").resolve("kek.json"));
        Repository keyed = repo.withKeys(kek);
        Manifest sealed = manifest("2026-11-20T03:00:00Z", 14);
        Manifest plain = manifest("2026-11-21T03:00:00Z", 15);
        keyed.catalog().put(sealed);
        repo.catalog().put(plain);

        assertThat(keyed.catalog().get(sealed.id())).contains(sealed);
        assertThat(repo.catalog().get(sealed.id())).as("keyless readers skip the tag").contains(sealed);
        assertThatThrownBy(() -> keyed.catalog().get(plain.id())).isInstanceOf(IntegrityException.class)
                .hasMessageContaining(Repository.manifestKey(plain.id()));
        assertThat(keyed.catalog().list()).extracting(Manifest::id).containsExactly(sealed.id());
        assertThat(keyed.damaged()).extracting(DamagedObject::key).containsExactly(Repository.manifestKey(plain.id()));
    }

    private static void writeObject(Sink sink, String key, String text) throws IOException {
        try (Sink.Upload up = sink.create(key, ObjectKind.DATA)) {
            try (OutputStream out = up.stream()) {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            }
            up.commit();
        }
    }
}
