package dev.backstop.testkit;

import static dev.backstop.testkit.BackupAssertions.assertThatBackup;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.DataSize;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.TableFingerprint;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.logical.PgDumpSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class BackupAssertionsIT {
    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.create();

    @TempDir
    static Path tmp;
    static Manifest backup;
    static Restore restore;
    static KeyEncryptionKey kek;

    @BeforeAll
    static void backUpASampleDatabase() throws Exception {
        PostgresInstance db = PG.instance();
        db.createDatabase("app");
        try (Connection c = db.connect("app")) {
            RealisticFixture.ofSize(DataSize.ofMiB(2)).load(c);
        }
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        backup = BackupPipeline.builder().source(PgDumpSource.builder(db.endpoint(), "app").build())
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).repository(repo).build().run();
        restore = Restore.builder().repository(repo).keys(kek).build();
    }

    @Test
    void restoresInto_withSameFingerprints_passesForAFaithfulRestore(PostgresInstance db) {
        long customers = backup.fingerprints().get().tables().get("app.customer").rows();

        assertThatBackup(backup, restore).isIntact()
                .restoresInto(db)
                .withSameFingerprints()
                .hasRowCount("app.customer", customers);
    }

    @Test
    void withSameFingerprints_failsNamingTheTableExpectedAndFound(PostgresInstance db) throws Exception {
        Map<String, TableFingerprint> tables = new HashMap<>(backup.fingerprints().get().tables());
        tables.put("app.orders", new TableFingerprint(tables.get("app.orders").rows() + 1, "0".repeat(32)));
        Manifest lying = backup.toBuilder()
                .fingerprints(new dev.backstop.core.Fingerprints(backup.fingerprints().get().schemaHash(), tables,
                        backup.fingerprints().get().objects())).build();
        // a restore reads only the manifest a KEK holder stored, so the lie is stored by one, in a copy
        Path copy = tmp.resolve("lying-repo");
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(tmp.resolve("repo"))) {
            for (Path f : files.toList()) {
                Path to = copy.resolve(tmp.resolve("repo").relativize(f).toString());
                if (java.nio.file.Files.isDirectory(f)) {
                    java.nio.file.Files.createDirectories(to);
                } else {
                    java.nio.file.Files.copy(f, to);
                }
            }
        }
        java.nio.file.Files.delete(copy.resolve(Repository.manifestKey(backup.id())));
        Repository lyingRepo = Repository.filesystem(copy);
        lyingRepo.withKeys(kek).catalog().put(lying);
        Restore fromCopy = Restore.builder().repository(lyingRepo).keys(kek).build();

        assertThatThrownBy(() -> assertThatBackup(lying, fromCopy).restoresInto(db).withSameFingerprints())
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("table app.orders: expected " + tables.get("app.orders").rows() + " rows, found "
                        + (tables.get("app.orders").rows() - 1));
    }

    @Test
    void withSameFingerprints_failsNamingTheSchemaObjectThatDiffers(PostgresInstance db) throws Exception {
        BackupAssert.RestoredDatabaseAssert restored = assertThatBackup(backup, restore).restoresInto(db);
        try (Connection c = db.connect(restored.database())) {
            c.createStatement().execute("ALTER TABLE app.customer ALTER COLUMN email SET DEFAULT 'nobody'");
        }

        assertThatThrownBy(restored::withSameFingerprints).isInstanceOf(AssertionError.class)
                .hasMessageContaining("column app.customer.email: default differs");
    }

    @Test
    void restoresInto_aNonEmptyDatabase_failsWithTheReason(PostgresInstance db) throws Exception {
        db.createDatabase("taken");
        try (Connection c = db.connect("taken")) {
            c.createStatement().execute("CREATE TABLE x (id int)");
        }

        assertThatThrownBy(() -> assertThatBackup(backup, restore).restoresInto(db, "taken"))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("is not empty");
    }

    @Test
    void extension_resolvesTheSameServerForEveryTest(PostgresInstance db) {
        assertThat(db).isSameAs(PG.instance());
        assertThat(db.version()).matches("\\d+\\.\\d+.*");
    }
}
