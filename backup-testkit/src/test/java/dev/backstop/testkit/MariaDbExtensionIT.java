package dev.backstop.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.mysql.MariaDbDumpSource;
import dev.backstop.mysql.MariaDbInstance;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class MariaDbExtensionIT {
    @RegisterExtension
    static final MariaDbExtension DB = MariaDbExtension.create();

    @TempDir
    Path tmp;

    @Test
    void aBackupTakenOnTheExtensionsServer_restoresIntoIt_withSameFingerprints(MariaDbInstance db) throws Exception {
        db.createDatabase("app");
        try (Connection c = db.connect("app"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE item (id INT PRIMARY KEY, price DECIMAL(8,2), name VARCHAR(20))");
            st.execute("INSERT INTO item VALUES (1, 1.50, 'a '), (2, NULL, ''), (3, 2.00, NULL)");
        }
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        Manifest m = BackupPipeline.builder().source(MariaDbDumpSource.builder(db.endpoint(), "app").build())
                .encrypt(Encryption.with(kek)).repository(repo).build().run();
        Restore restore = Restore.builder().repository(repo).keys(kek).build();

        MariaDbBackupAssert.RestoredDatabaseAssert restored = MariaDbBackupAssert.assertThatBackup(m, restore).restoresInto(db)
                .withSameFingerprints().hasRowCount("item", 3);

        try (Connection c = db.connect(restored.database()); Statement st = c.createStatement()) {
            st.execute("UPDATE item SET name = 'a' WHERE id = 1");
        }
        assertThatThrownBy(restored::withSameFingerprints).isInstanceOf(AssertionError.class)
                .hasMessageContaining("table item: expected content hash");
        assertThat(DB.instance()).isSameAs(db);
    }
}
