package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupException;
import dev.backstop.core.BackupPipeline;
import dev.backstop.core.CaptureSource;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A cluster initialised with data checksums, backed up once while healthy and once after one byte
 * of a table's page was flipped on disk behind the server's back (as a failing disk does): the
 * data-directory backup carries the page faithfully (its CRC-32C and digests describe the bytes
 * it read), so only the server's page checksum, read in the drill's restored server, can tell.
 */
class ChecksumDrillIT {
    static Path dir;
    static EphemeralPostgres pg;
    static LocalKeysetKek kek;
    static Repository repo;
    static Restore restore;
    static Manifest healthy;
    static Manifest corrupt;
    static String victimFile;

    @BeforeAll
    static void backups() throws Exception {
        dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "backstop-checksum-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        kek = LocalKeysetKek.create(dir.resolve("kek.json"));
        repo = Repository.filesystem(dir.resolve("repo"));
        restore = Restore.builder().repository(repo).keys(kek).build();
        pg = EphemeralPostgres.builder().dataChecksums(true).start();
        try (Connection c = pg.connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE ledger(id int PRIMARY KEY, note text)");
            st.execute("INSERT INTO ledger SELECT g, 'entry ' || g FROM generate_series(1, 5000) g");
            st.execute("CREATE TABLE victim(id int, note text)");
            st.execute("INSERT INTO victim SELECT g, repeat('v', 50) FROM generate_series(1, 500) g");
            // hint bits set and frozen now, so that nothing rewrites the page later
            st.execute("VACUUM (FREEZE)");
            st.execute("CHECKPOINT");
            try (ResultSet rs = st.executeQuery("SELECT pg_relation_filepath('victim')")) {
                rs.next();
                victimFile = rs.getString(1);
            }
        }
        healthy = backup(dataDirectory());
        // the server holds the page clean in its buffers and never writes it again: the flip stays on disk
        try (FileChannel ch = FileChannel.open(pg.directory().resolve("data").resolve(victimFile), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            long at = PageFilter.PAGE - 100; // tuple data, which fills a heap page from its end
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x01)).rewind();
            ch.write(b, at);
        }
        corrupt = backup(dataDirectory());
    }

    @AfterAll
    static void stop() throws Exception {
        if (pg != null) {
            pg.close();
        }
        if (dir != null) {
            PointInTimeRecovery.deleteQuietly(dir);
        }
    }

    static CaptureSource dataDirectory() {
        return DataDirectorySource.builder(pg.endpoint(), pg.directory().resolve("data")).build();
    }

    static Manifest backup(CaptureSource source) {
        return BackupPipeline.builder().source(source).compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek))
                .repository(repo).build().run();
    }

    static PhysicalRestoreDrill drill() {
        return PhysicalRestoreDrill.builder().credentials("postgres", pg.endpoint().password()).workDir(dir)
                .timeout(Duration.ofMinutes(3)).build();
    }

    @Test
    void drill_ofAHealthyBackupOfAChecksummedCluster_passes_andRecordsThatChecksumsWereVerified() throws Exception {
        ValidationResult r = drill().validate(healthy, restore);

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("data_checksums", "on").containsEntry("checksum_failures", "0")
                .containsEntry("amcheck", "passed");
        assertThat(restore.repository().latestValidation(healthy.id())).hasValueSatisfying(v -> {
            assertThat(v.passed()).isTrue();
            assertThat(v.measurements()).containsEntry("data_checksums", "on").containsEntry("checksum_failures", "0");
        });
    }

    @Test
    void drill_ofABackupCarryingAPageThatFailsItsChecksum_failsNamingTheRelationFileAndTheChecksum() throws Exception {
        ValidationResult r = drill().validate(corrupt, restore);

        assertThat(r.passed()).isFalse();
        assertThat(r.measurements()).containsEntry("data_checksums", "on").containsEntry("amcheck", "failed");
        assertThat(Long.parseLong(r.measurements().get("checksum_failures"))).isPositive();
        String findings = String.join("\n", r.findings());
        assertThat(findings).contains(victimFile).contains("checksum");
        assertThat(restore.repository().latestValidation(corrupt.id())).hasValueSatisfying(v -> assertThat(v.passed()).isFalse());
    }

    @Test
    void baseBackup_ofAClusterWithAPageThatFailsItsChecksum_failsInsteadOfStoringIt() throws Exception {
        Repository other = Repository.filesystem(dir.resolve("repo-basebackup"));

        assertThatThrownBy(() -> BackupPipeline.builder().source(BaseBackupSource.builder(pg.endpoint()).build())
                .noEncryption().repository(other).build().run())
                .isInstanceOf(BackupException.class).hasMessageContaining("checksum");
        assertThat(other.catalog().list()).as("nothing published").isEmpty();
    }
}
