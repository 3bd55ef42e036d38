package dev.backstop.mysql.recovery;

import static dev.backstop.mysql.recovery.Fixtures.count;
import static dev.backstop.mysql.recovery.Fixtures.sql;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.retention.Expiry;
import dev.backstop.core.retention.ExpiryReport;
import dev.backstop.core.retention.RetentionPlanner;
import dev.backstop.core.retention.RetentionPolicy;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.MariaDbDumpSource;
import dev.backstop.mysql.binlog.BinlogArchive;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BinlogRetentionIT {
    @TempDir
    Path tmp;

    @Test
    void expiry_keepsTheBinlogsOfTheKeptBackup_whichThenRecoversToLatest() throws Exception {
        try (EphemeralMariaDb source = EphemeralMariaDb.start()) {
            source.createDatabase("shop");
            sql(source, "CREATE TABLE shop.t (id INT PRIMARY KEY, note VARCHAR(20) NOT NULL) ENGINE=InnoDB",
                    "INSERT INTO shop.t VALUES (1, 'before b1')");
            KeyEncryptionKey kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
            Path root = tmp.resolve("repo");
            BinlogArchive archive = Fixtures.archive(root, "server-" + source.serverId(), source.serverId(), kek);
            MariaDbDumpSource dump = MariaDbDumpSource.builder(source.endpoint(), "shop").binlogStream(archive.stream()).build();
            Manifest b1 = Fixtures.backup(dump, root, kek);
            sql(source, "INSERT INTO shop.t VALUES (2, 'after b1')", "FLUSH BINARY LOGS", "INSERT INTO shop.t VALUES (3, 'before b2')");
            Manifest b2 = Fixtures.backup(dump, root, kek);
            sql(source, "INSERT INTO shop.t VALUES (4, 'after b2')", "FLUSH BINARY LOGS", "INSERT INTO shop.t VALUES (5, 'last')");
            List<String> files = Fixtures.serverFiles(source);
            Fixtures.archiveAll(source, archive);
            Restore restore = Fixtures.restore(root, kek);
            restore.verify(b1).orThrow();
            restore.verify(b2).orThrow();
            assertThat(b1.requiredLogs()).hasValueSatisfying(l -> assertThat(l.start()).isEqualTo(BinlogArchive.file(files.get(0)).start()));
            assertThat(b2.requiredLogs()).hasValueSatisfying(l -> assertThat(l.start()).isEqualTo(BinlogArchive.file(files.get(1)).start()));

            ExpiryReport report = Expiry.builder().repository(Repository.filesystem(root).withKeys(kek))
                    .planner(RetentionPlanner.of(RetentionPolicy.keepLast(1))).logs(archive.logs()).clock(Clock.systemUTC())
                    .build().run();

            assertThat(report.deletedBackups()).containsExactly(b1.id());
            assertThat(report.deletedLogs()).extracting(s -> s.range().start()).containsExactly(BinlogArchive.file(files.get(0)).start());
            assertThat(archive.files()).containsExactly(files.get(1));
            assertThat(archive.deltaEnd(files.get(2))).isPositive();
            BinlogRecovery recovery = BinlogRecovery.builder(restore, archive).workDir(tmp).build();
            try (BinlogRecovery.Recovered r = recovery.recover(b2, RecoveryTarget.latest())) {
                assertThat(count(r.server(), "shop.t")).isEqualTo(5);
                assertThat(Fixtures.strings(r.server(), "SELECT note FROM shop.t WHERE id = 5")).containsExactly("last");
            }
            assertThatThrownBy(() -> recovery.prepare(b1, RecoveryTarget.latest()))
                    .hasMessageContaining("binlog " + files.get(0) + " (backup " + b1.id() + "'s point");
        }
    }
}
