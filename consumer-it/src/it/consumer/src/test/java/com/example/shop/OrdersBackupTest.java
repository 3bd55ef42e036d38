package com.example.shop;

import static dev.backstop.testkit.BackupAssertions.assertThatBackup;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.PostgresInstance;
import dev.backstop.postgres.logical.PgDumpSource;
import dev.backstop.testkit.PostgresExtension;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class OrdersBackupTest {
    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.create();

    @TempDir
    Path tmp;

    @Test
    void backupOfTheOrdersDatabase_verifiesAndRestoresWithTheSameRows(PostgresInstance db) throws Exception {
        db.createDatabase("shop");
        try (Connection c = db.connect("shop"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL)");
            st.execute("INSERT INTO orders SELECT g, 'shipped' FROM generate_series(1, 500) g");
        }
        LocalKeysetKek.create(tmp.resolve("kek.json"));
        KeyEncryptionKey kek = LocalKeysetKek.load(tmp.resolve("kek.json"));
        Repository repo = Repository.filesystem(tmp.resolve("backups/shop"));

        Manifest backup = BackupPipeline.builder()
                .source(PgDumpSource.builder(db.endpoint(), "shop").build())
                .compress(ZstdTransform.level(3))
                .encrypt(Encryption.with(kek))
                .repository(repo)
                .build()
                .run();
        Restore restore = Restore.builder().repository(repo).keys(kek).build();
        ValidationResult check = restore.verify(backup).orThrow();

        assertEquals(1, repo.validations(backup.id()).size(), "verify records its result");
        assertEquals(check.validator(), repo.validations(backup.id()).get(0).validator());
        assertTrue(repo.validations(backup.id()).get(0).passed());
        assertThatBackup(backup, restore).restoresInto(db).withSameFingerprints().hasRowCount("public.orders", 500);
    }
}
