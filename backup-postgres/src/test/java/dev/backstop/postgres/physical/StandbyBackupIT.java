package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.Restore;
import dev.backstop.core.ValidationResult;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.wal.WalFile;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Base backups taken off the primary: an archiving primary and a streaming standby made with
 * {@code pg_basebackup -R}; both sources back up the standby, and the backups recover from the
 * primary's WAL archive.
 */
class StandbyBackupIT {
    static Archiving primary;
    static EphemeralPostgres standby;

    @BeforeAll
    static void servers() throws Exception {
        // a standby refuses to start a backup after replaying WAL written without full-page images
        primary = new Archiving(java.util.Map.of("full_page_writes", "on"));
        primary.pgbench("-i", "-s", "1", "-q");
        standby = PgTimelineSwitchIT.standbyOf(primary.pg);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (standby != null) {
                standby.close();
            }
        } finally {
            if (primary != null) {
                primary.close();
            }
        }
    }

    /** Waits until the standby has replayed everything the primary has written so far. */
    static void caughtUp() throws Exception {
        long target = WalFile.parseLsn(PgTimelineSwitchIT.one(primary.pg, "SELECT pg_current_wal_lsn()::text"));
        PgTimelineSwitchIT.await("standby replay", () -> PgTimelineSwitchIT.safely(() -> {
            try {
                return WalFile.parseLsn(PgTimelineSwitchIT.one(standby, "SELECT pg_last_wal_replay_lsn()::text")) >= target;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }), () -> "primary at " + WalFile.formatLsn(target));
    }

    @Test
    void baseBackupSource_onTheStandby_recoversToItsConsistentPoint_withWhatTheStandbyHadReplayed() throws Exception {
        PgTimelineSwitchIT.exec(primary.pg, "CREATE TABLE IF NOT EXISTS marker(name text PRIMARY KEY)");
        PgTimelineSwitchIT.exec(primary.pg, "INSERT INTO marker VALUES ('before the standby backup')");
        // a checkpoint for the standby to start its backup from (a restartpoint replays it)
        PgTimelineSwitchIT.exec(primary.pg, "CHECKPOINT");
        caughtUp();

        Manifest m = BackupPipeline.builder().source(BaseBackupSource.builder(standby.endpoint()).build())
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(primary.kek)).repository(primary.repo).build().run();

        assertThat(m.attributes()).containsEntry("postgresql.backup_from", "standby");
        assertThat(m.consistency().properties()).containsEntry(BaseBackupSource.SYSTEM_IDENTIFIER,
                Long.toUnsignedString(primary.archive.systemId()));
        Restore restore = Restore.builder().repository(primary.repo).keys(primary.kek).build();
        try (EphemeralPostgres pg = PointInTimeRecovery.builder(restore, m).credentials("postgres", primary.pg.endpoint().password())
                .timeout(Duration.ofMinutes(2)).build().recover()) {
            assertThat(PgTimelineSwitchIT.one(pg, "SELECT string_agg(name, ',') FROM marker")).contains("before the standby backup");
            assertThat(PgTimelineSwitchIT.one(pg, "SELECT pg_is_in_recovery()")).as("promoted, not a standby").isEqualTo("f");
            assertThat(PgTimelineSwitchIT.one(pg, "SELECT count(*) FROM pgbench_accounts")).isEqualTo("100000");
        }
    }

    @Test
    void dataDirectorySource_onTheStandby_whilePgbenchWritesOnThePrimary_drillsToAPointRecordedOnThePrimary() throws Exception {
        PgTimelineSwitchIT.exec(primary.pg, "CHECKPOINT");
        caughtUp();
        CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
            try {
                primary.pgbench("-n", "-c", "2", "-T", "4");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        primary.awaitPgbenchConnected();
        Manifest m = BackupPipeline.builder()
                .source(DataDirectorySource.builder(standby.endpoint(), standby.directory().resolve("data")).build())
                .compress(ZstdTransform.level(3)).encrypt(Encryption.with(primary.kek)).repository(primary.repo).build().run();
        load.join();
        RestorePoints.builder(primary.pg.endpoint(), primary.repo.withKeys(primary.kek)).build().create("after-standby-backup");
        primary.archiveAll();

        assertThat(m.attributes()).containsEntry("postgresql.backup_from", "standby").containsEntry("postgresql.capture", "datadir");
        Restore restore = Restore.builder().repository(primary.repo).keys(primary.kek).build();
        ValidationResult consistent = PhysicalRestoreDrill.builder().credentials("postgres", primary.pg.endpoint().password())
                .timeout(Duration.ofMinutes(3)).build().validate(m, restore);
        assertThat(consistent.findings()).isEmpty();

        ValidationResult r = PhysicalRestoreDrill.builder().credentials("postgres", primary.pg.endpoint().password())
                .archive(primary.archive).target(RecoveryTarget.restorePoint("after-standby-backup"))
                .timeout(Duration.ofMinutes(3)).build().validate(m, restore);

        assertThat(r.findings()).isEmpty();
        assertThat(r.measurements()).containsEntry("fingerprints", "compared").containsEntry("amcheck", "passed");
    }
}
