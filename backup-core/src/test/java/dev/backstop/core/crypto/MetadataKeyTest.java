package dev.backstop.core.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.IntegrityException;
import dev.backstop.core.Repository;
import dev.backstop.core.crypto.LocalKeysetKek;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetadataKeyTest {
    @TempDir
    Path tmp;

    static final byte[] DOC = "{\n  \"formatVersion\" : 1,\n  \"x\" : \"y\"\n}\n".getBytes(StandardCharsets.UTF_8);

    @Test
    void tag_bindsLocationOwnerAndEveryByte() {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MetadataKey key = MetadataKey.loadOrCreate(repo, LocalKeysetKek.create(tmp.resolve("kek.json")));
        byte[] sealed = key.sealJson("backups/a/x.json", "a", DOC);

        assertThat(key.openJson("backups/a/x.json", "a", sealed, "record")).isEqualTo(DOC);
        assertThatThrownBy(() -> key.openJson("backups/b/x.json", "a", sealed, "record"))
                .isInstanceOfSatisfying(IntegrityException.class, e -> assertThat(e.key()).isEqualTo("backups/b/x.json"));
        assertThatThrownBy(() -> key.openJson("backups/a/x.json", "b", sealed, "record")).isInstanceOf(IntegrityException.class);
        byte[] edited = new String(sealed, StandardCharsets.UTF_8).replace("\"y\"", "\"z\"").getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> key.openJson("backups/a/x.json", "a", edited, "record")).isInstanceOf(IntegrityException.class);
        assertThatThrownBy(() -> key.openJson("backups/a/x.json", "a", DOC, "record"))
                .isInstanceOf(IntegrityException.class).hasMessageContaining("unauthenticated");
        // length-prefixed fields: moving a character from the key into the owner changes the tag
        assertThat(key.tagText("ab", "c", DOC)).isNotEqualTo(key.tagText("a", "bc", DOC));
    }

    @Test
    void twoFirstWritersRacing_endUpWithOneKey() throws Exception {
        LocalKeysetKek kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        for (int round = 0; round < 10; round++) {
            Repository repo = Repository.filesystem(tmp.resolve("repo" + round));
            CyclicBarrier start = new CyclicBarrier(2);
            List<CompletableFuture<MetadataKey>> racers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                racers.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        start.await();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    return MetadataKey.loadOrCreate(repo, kek);
                }));
            }
            assertThat(racers.get(0).get()).isEqualTo(racers.get(1).get());
            assertThat(MetadataKey.load(repo, kek)).isEqualTo(racers.get(0).get());
        }
    }

    @Test
    void record_holdsNoKeyMaterial_andToStringShowsOnlyTheId() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        MetadataKey key = MetadataKey.loadOrCreate(repo, LocalKeysetKek.create(tmp.resolve("kek.json")));
        String record = Files.readString(tmp.resolve("repo").resolve(MetadataKey.OBJECT));
        assertThat(record).contains("\"keyId\" : \"" + key.keyId() + "\"").contains("wrappedKey").contains("HMAC-SHA256");
        assertThat(key.toString()).isEqualTo("MetadataKey[HMAC-SHA256, id=" + key.keyId() + "]");
    }
}
