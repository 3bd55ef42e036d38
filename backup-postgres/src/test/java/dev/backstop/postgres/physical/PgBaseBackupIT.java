package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.BackupType;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.Fingerprints;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.SharedPostgres;
import dev.backstop.postgres.wal.WalFile;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class PgBaseBackupIT {
    @TempDir
    Path tmp;

    @RegisterExtension
    static final SharedPostgres pg = SharedPostgres.with(pg -> {
            pg.createDatabase("shop");
            try (Connection c = pg.connect("shop"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE item(id int PRIMARY KEY, name text, price numeric)");
                st.execute("INSERT INTO item SELECT g, 'item ' || g, g * 1.25 FROM generate_series(1, 5000) g");
            }
    });

    /** As the README and PhysicalBench take base backups: framed zstd, so the restore decodes on threads. */
    static Manifest backup(EphemeralPostgres pg, Repository repo, KeyEncryptionKey kek) {
        return BackupPipeline.builder()
                .source(BaseBackupSource.builder(pg.endpoint()).build())
                .compress(ZstdTransform.builder().level(3).workers(2).build())
                .encrypt(Encryption.with(kek))
                .repository(repo)
                .build().run();
    }

    static long systemId(EphemeralPostgres pg) throws Exception {
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT system_identifier FROM pg_control_system()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void baseBackup_recordsSystemTimelineAndWalRange() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        Manifest m = backup(pg.server(), repo, LocalKeysetKek.create(tmp.resolve("kek.json")));

        assertThat(m.type()).isEqualTo(BackupType.PHYSICAL);
        Map<String, String> point = m.consistency().properties();
        assertThat(point).containsEntry(BaseBackupSource.SYSTEM_IDENTIFIER, Long.toUnsignedString(systemId(pg.server())))
                .containsEntry(BaseBackupSource.TIMELINE, "1");
        long start = WalFile.parseLsn(point.get(BaseBackupSource.START_LSN));
        long stop = WalFile.parseLsn(point.get(BaseBackupSource.STOP_LSN));
        assertThat(stop).isGreaterThan(start);
        assertThat(point.get(BaseBackupSource.START_WAL_FILE)).isEqualTo(WalFile.segmentOf(1, start).name());
        String stream = "wal/" + Long.toUnsignedString(systemId(pg.server()));
        assertThat(m.requiredLogs()).hasValueSatisfying(r -> {
            assertThat(r.stream()).isEqualTo(stream);
            assertThat(r.start()).isEqualTo(start);
            assertThat(r.end()).isEqualTo(stop);
        });
        assertThat(m.objects()).extracting(o -> o.name()).as("the tar, and its backup_manifest for a later increment")
                .containsExactly("base.tar", "backup_manifest");
        assertThat(m.object("base.tar")).hasValueSatisfying(o -> {
            // framed zstd: the restore decodes the frames on several threads
            assertThat(o.transforms()).anySatisfy(t -> assertThat(t.parameters()).containsKey("frames"));
        });
        assertThat(m.attributes()).containsEntry("postgresql.backup_level", "full");
    }

    @Test
    void restore_toConsistentPoint_givesAServerWithTheSameData() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Fingerprints before = Prints.of(pg.server(), "shop");
        Manifest m = backup(pg.server(), repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        try (EphemeralPostgres restored = PointInTimeRecovery.builder(restore, m)
                .credentials("postgres", pg.endpoint().password()).build().recover();
             Connection c = restored.connect("shop"); Statement st = c.createStatement()) {
            assertThat(Prints.of(restored, "shop")).isEqualTo(before);
            try (ResultSet rs = st.executeQuery("SELECT current_setting('archive_mode'), pg_is_in_recovery(), "
                    + "(SELECT system_identifier FROM pg_control_system())")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("off");
                assertThat(rs.getBoolean(2)).isFalse();
                assertThat(rs.getLong(3)).isEqualTo(systemId(pg.server()));
            }
        }
    }

    @Test
    void restoreTo_ofATamperedBaseBackup_fails() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(pg.server(), repo, kek);
        Path stored = tmp.resolve("repo").resolve(m.object("base.tar").orElseThrow().key());
        byte[] b = Files.readAllBytes(stored);
        b[b.length / 3] ^= 0x10;
        Files.write(stored, b);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        assertThatThrownBy(() -> PointInTimeRecovery.builder(restore, m).build().restoreTo(tmp.resolve("data")))
                .isInstanceOf(BackupException.class);
        assertThat(tmp.resolve("data")).doesNotExist();
    }

    @Test
    void restoreTo_ofATruncatedBaseBackup_failsAndLeavesNoDirectory() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(pg.server(), repo, kek);
        Path stored = tmp.resolve("repo").resolve(m.object("base.tar").orElseThrow().key());
        byte[] b = Files.readAllBytes(stored);
        Files.write(stored, java.util.Arrays.copyOf(b, b.length - 100));
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        assertThatThrownBy(() -> PointInTimeRecovery.builder(restore, m).build().restoreTo(tmp.resolve("data")))
                .isInstanceOf(dev.backstop.core.IntegrityException.class)
                .hasMessageContaining(m.object("base.tar").orElseThrow().key());
        assertThat(tmp.resolve("data")).doesNotExist();
    }

    @Test
    void restoreTo_anExistingDirectory_isRefusedAndLeftAlone() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(pg.server(), repo, kek);
        Path data = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(data.resolve("mine"), "keep");
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        assertThatThrownBy(() -> PointInTimeRecovery.builder(restore, m).build().restoreTo(data))
                .isInstanceOf(BackupException.class).hasMessageContaining("must not exist yet");
        assertThat(data.resolve("mine")).hasContent("keep");
    }

    @Test
    void restoreTo_writesEveryFileWithTheSizeAndCrcOfBackupManifest() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = backup(pg.server(), repo, kek);
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        int files = PointInTimeRecovery.builder(restore, m).build().restoreTo(tmp.resolve("data"));

        com.fasterxml.jackson.databind.JsonNode listed = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(tmp.resolve("data/backup_manifest").toFile()).path("Files");
        assertThat(listed.size()).isPositive();
        for (com.fasterxml.jackson.databind.JsonNode f : listed) {
            Path p = tmp.resolve("data").resolve(f.path("Path").asText());
            assertThat(Files.size(p)).as(p.toString()).isEqualTo(f.path("Size").asLong());
        }
        // every manifest entry plus backup_manifest itself (and the WAL that -X fetch adds)
        assertThat(files).isGreaterThan(listed.size());
    }

    @Test
    void clusterWithATablespace_isRefusedNamingIt() throws Exception {
        try (EphemeralPostgres other = EphemeralPostgres.start()) {
            Path loc = Files.createDirectories(other.directory().resolve("ts"));
            if ("root".equals(System.getProperty("user.name"))) {
                Files.setOwner(loc, loc.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres"));
            }
            try (Connection c = other.connect("postgres"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLESPACE archive_space LOCATION '" + loc + "'");
            }
            Repository repo = Repository.filesystem(tmp.resolve("repo"));

            assertThatThrownBy(() -> backup(other, repo, LocalKeysetKek.create(tmp.resolve("kek.json"))))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("archive_space").hasMessageContaining("tablespaces besides pg_default");
            assertThat(repo.catalog().list()).isEmpty();
        }
    }

    @Test
    void extract_entryEscapingTheDataDirectory_isRefused() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            TarArchiveEntry e = new TarArchiveEntry("../evil");
            e.setSize(1);
            tar.putArchiveEntry(e);
            tar.write('x');
            tar.closeArchiveEntry();
        }
        Path data = Files.createDirectories(tmp.resolve("data"));

        assertThatThrownBy(() -> BaseBackupTar.extract(new ByteArrayInputStream(bytes.toByteArray()), data))
                .hasMessageContaining("'../evil'").hasMessageContaining("outside the data directory");
        assertThat(tmp.resolve("evil")).doesNotExist();
    }
}
