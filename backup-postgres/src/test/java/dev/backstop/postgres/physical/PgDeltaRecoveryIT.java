package dev.backstop.postgres.physical;

import static org.assertj.core.api.Assertions.assertThat;

import dev.backstop.core.BackupPipeline;
import dev.backstop.core.crypto.Encryption;
import dev.backstop.core.manifest.Manifest;
import dev.backstop.core.Repository;
import dev.backstop.core.Restore;
import dev.backstop.core.crypto.LocalKeysetKek;
import dev.backstop.core.transform.ZstdTransform;
import dev.backstop.postgres.EphemeralPostgres;
import dev.backstop.postgres.wal.WalArchive;
import dev.backstop.postgres.wal.WalFile;
import dev.backstop.postgres.wal.WalReceiver;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Recovery to latest reaches a commit that only the receiver's delta objects hold: no segment switch after it. */
class PgDeltaRecoveryIT {
    @TempDir
    Path tmp;

    @Test
    @SuppressWarnings("try") // the receiver is stopped before the checks; the try closes it if a step before fails
    void recoveryToLatest_includesAMarkerCommittedAfterTheLastSegmentSwitch() throws Exception {
        Repository repo = Repository.filesystem(tmp.resolve("repo"));
        LocalKeysetKek kek = LocalKeysetKek.create(tmp.resolve("kek.json"));
        try (EphemeralPostgres pg = EphemeralPostgres.start()) {
            long sysid = Long.parseLong(PgTimelineSwitchIT.one(pg, "SELECT system_identifier FROM pg_control_system()"));
            WalArchive archive = WalArchive.builder(repo, sysid).keys(kek).build();
            PgTimelineSwitchIT.exec(pg, "CREATE TABLE marker(name text PRIMARY KEY)");
            WalFile markerSegment;
            try (WalReceiver receiver = WalReceiver.builder(pg.endpoint(), archive).workDir(tmp.resolve("receiving"))
                    .backoff(Duration.ofMillis(50), Duration.ofMillis(500)).build()) {
                receiver.start();
                PgTimelineSwitchIT.await("streaming", () -> receiver.status().timeline() > 0, receiver::status);
                Manifest base = BackupPipeline.builder().source(BaseBackupSource.builder(pg.endpoint()).build())
                        .compress(ZstdTransform.level(3)).encrypt(Encryption.with(kek)).repository(repo).build().run();
                PgTimelineSwitchIT.exec(pg, "INSERT INTO marker SELECT 'bulk-' || g FROM generate_series(1, 20000) g");
                PgTimelineSwitchIT.exec(pg, "INSERT INTO marker VALUES ('before the switch')");
                String switched = PgTimelineSwitchIT.one(pg, "SELECT pg_walfile_name(pg_switch_wal())");
                PgTimelineSwitchIT.exec(pg, "INSERT INTO marker VALUES ('after the switch')");
                // the insert position: commits are not flushed at once here (synchronous_commit=off)
                long end = WalFile.parseLsn(PgTimelineSwitchIT.one(pg, "SELECT pg_current_wal_insert_lsn()::text"));
                markerSegment = WalFile.segmentOf(1, end);
                PgTimelineSwitchIT.await("the marker archived", () -> receiver.rpo().archivedLsn() >= end, receiver::rpo);
                PgTimelineSwitchIT.await(switched + " archived whole", () -> archive.contains(switched), receiver::status);
                receiver.close();
                assertThat(archive.contains(markerSegment.name())).as("the marker's segment is not archived whole").isFalse();
                assertThat(archive.restorable()).contains(markerSegment);

                Restore restore = Restore.builder().repository(repo).keys(kek).build();
                try (EphemeralPostgres recovered = PointInTimeRecovery.builder(restore, base).archive(archive)
                        .target(RecoveryTarget.latest()).credentials("postgres", pg.endpoint().password())
                        .timeout(Duration.ofMinutes(2)).build().recover()) {
                    assertThat(PgTimelineSwitchIT.one(recovered, "SELECT count(*) FROM marker")).isEqualTo("20002");
                    assertThat(PgTimelineSwitchIT.one(recovered, "SELECT name FROM marker WHERE name = 'after the switch'"))
                            .as("committed after the last switch: only in delta objects").isEqualTo("after the switch");
                }
            }
        }
    }
}
