package dev.backstop.mysql.recovery;

import static dev.backstop.mysql.recovery.Fixtures.count;
import static dev.backstop.mysql.recovery.Fixtures.sql;
import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.Fingerprints;
import dev.backstop.core.Repository;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.KeyEncryptionKey;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.mysql.EphemeralMariaDb;
import dev.backstop.mysql.binlog.BinlogArchive;
import dev.backstop.mysql.physical.MariaDbBackupSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A physical backup taken while a writer commits rows, a checkpoint taken while it still does, more
 * rows after it: recovery to the checkpoint's GTID equals the source there.
 */
class PhysicalRecoveryIT {
    static EphemeralMariaDb source;
    static KeyEncryptionKey kek;
    static Path repoRoot;
    static Manifest backup;
    static BinlogArchive archive;
    static RecoveryCheckpoint checkpoint;
    static long finalRows;

    @TempDir
    static Path shared;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        source = EphemeralMariaDb.start();
        source.createDatabase("shop");
        sql(source, "CREATE TABLE shop.w (id BIGINT PRIMARY KEY AUTO_INCREMENT, payload VARCHAR(64) NOT NULL, "
                        + "KEY w_payload (payload)) ENGINE=InnoDB",
                "CREATE TABLE shop.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL) ENGINE=InnoDB",
                "INSERT INTO shop.item SELECT seq, CONCAT('item ', seq) FROM shop.seq_1_to_5000");
        kek = LocalKeysetKek.create(shared.resolve("kek.json"));
        repoRoot = shared.resolve("repo");
        archive = Fixtures.archive(repoRoot, "server-" + source.serverId(), source.serverId(), kek);
        ExecutorService writerThread = Executors.newSingleThreadExecutor();
        AtomicBoolean stop = new AtomicBoolean();
        try {
            Future<?> writer = writerThread.submit(() -> {
                try (Connection c = source.connect("shop"); Statement st = c.createStatement()) {
                    for (long i = 0; !stop.get(); i++) {
                        st.execute("INSERT INTO w (payload) VALUES ('row " + i + "')");
                        if (i % 10 == 0) {
                            st.execute("UPDATE item SET name = CONCAT('item ', id, ' v', " + i + ") WHERE id = " + (1 + i % 5000));
                        }
                    }
                }
                return null;
            });
            long before = awaitRows(200);
            backup = Fixtures.backup(MariaDbBackupSource.builder(source.endpoint()).workDir(shared)
                    .binlogStream(archive.stream()).build(), repoRoot, kek);
            // every user database, by default
            checkpoint = RecoveryCheckpoints.builder(source.endpoint(), Repository.filesystem(repoRoot).withKeys(kek), archive).build()
                    .record("under-writes");
            awaitRows(Math.max(before, checkpoint.fingerprints().tables().get("shop.w").rows()) + 300);
            stop.set(true);
            writer.get(60, TimeUnit.SECONDS);
        } finally {
            stop.set(true);
            writerThread.shutdownNow();
        }
        finalRows = count(source, "shop.w");
        sql(source, "FLUSH BINARY LOGS");
        Fixtures.archiveAll(source, archive);
    }

    /** Waits, by reading the table, until the writer has committed {@code n} rows. */
    static long awaitRows(long n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        long rows;
        while ((rows = count(source, "shop.w")) < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the writer committed " + rows + " rows in 120 s, expected " + n);
            }
        }
        return rows;
    }

    @AfterAll
    static void stop() throws Exception {
        if (source != null) {
            source.close();
        }
    }

    @Test
    void recover_ofABackupTakenUnderWrites_toAGtid_equalsTheSourceAtThatGtid() throws Exception {
        assertThat(backup.attributes()).containsEntry("mariadb.format", "xbstream");
        assertThat(backup.requiredLogs()).hasValueSatisfying(l -> assertThat(l.stream()).isEqualTo(archive.stream()));
        assertThat(checkpoint.gtid()).doesNotContain(",");

        try (BinlogRecovery.Recovered r = BinlogRecovery.builder(Fixtures.restore(repoRoot, kek), archive).workDir(tmp).build()
                .recover(backup, RecoveryTarget.gtid(checkpoint.gtid()))) {
            Fingerprints recovered;
            try (Connection c = r.server().connect(null); Statement st = c.createStatement()) {
                st.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
                recovered = RecoveryCheckpoint.fingerprints(c, checkpoint.databaseNames());
                st.execute("ROLLBACK");
            }
            assertThat(checkpoint.fingerprints().differencesFrom(recovered)).isEmpty();
            assertThat(recovered.tables().get("shop.w").rows()).isLessThan(finalRows);
            assertThat(r.report().reached().gtid()).isEqualTo(checkpoint.gtid());
            assertThat(r.report().reached().position()).isLessThanOrEqualTo(checkpoint.position());
            assertThat(r.report().transactions()).isPositive();
        }
    }

    @Test
    void drill_ofAPhysicalBackup_toACheckpointRecordedUnderWrites_passes() throws Exception {
        assertThat(checkpoint.databaseNames()).containsExactly("shop");

        ValidationResult r = MariaDbPitrDrill.builder(archive, "under-writes").workDir(tmp).build()
                .validate(backup, Fixtures.restore(repoRoot, kek));

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("fingerprints", "compared").containsEntry("check_table", "passed")
                .containsEntry("gtid", checkpoint.gtid())
                .containsEntry("tables", "2");
    }
}
